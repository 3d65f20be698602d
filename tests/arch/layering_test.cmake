# Layering test: fails on an #include that crosses module boundaries the wrong way.
#
#   cmake -DROOT=<source tree> -P layering_test.cmake
#
# Rules (design brief, "Modules"):
#   policy/, crypto/  include no other fnjail library;
#   sandbox/          may include crypto/ (the channel endpoint) and nothing else of ours;
#   runtime/          (function runtimes and execution environments) may include sandbox/
#                     and crypto/;
#   gateway/          may include policy/, sandbox/, crypto/, runtime/;
#   nobody includes another library's internal/ headers;
#   public headers (<lib>/*.h outside internal/) include no third-party library headers
#   other than tl::expected.
if(NOT ROOT)
  message(FATAL_ERROR "pass -DROOT=<source tree>")
endif()
get_filename_component(ROOT "${ROOT}" ABSOLUTE)

set(libs policy crypto sandbox runtime gateway)
set(allowed_policy "")
set(allowed_crypto "")
set(allowed_sandbox crypto)
set(allowed_runtime sandbox crypto)
set(allowed_gateway policy sandbox crypto runtime)
set(third_party_patterns "toml\\+\\+/" "openssl/" "seccomp\\.h" "nlohmann/" "boost/"
    "lua\\.h" "lua\\.hpp" "lauxlib\\.h" "sys/capability\\.h" "valijson/" "CLI/")

set(violations 0)
foreach(lib IN LISTS libs)
  if(NOT IS_DIRECTORY ${ROOT}/${lib})
    continue()
  endif()
  file(GLOB_RECURSE files ${ROOT}/${lib}/*.h ${ROOT}/${lib}/*.cc)
  foreach(f IN LISTS files)
    file(STRINGS ${f} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    file(RELATIVE_PATH rel ${ROOT} ${f})
    string(REGEX MATCH "^${lib}/[^/]+\\.h$" is_public "${rel}")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*$" "\\1" inc "${line}")
      foreach(other IN LISTS libs)
        if(other STREQUAL lib)
          continue()
        endif()
        if(inc MATCHES "^${other}/")
          list(FIND allowed_${lib} ${other} idx)
          if(idx EQUAL -1)
            message(SEND_ERROR "${rel}: `${lib}/` must not include `${inc}`")
            math(EXPR violations "${violations} + 1")
          elseif(inc MATCHES "^${other}/internal/")
            message(SEND_ERROR "${rel}: `${inc}` is internal to `${other}/`")
            math(EXPR violations "${violations} + 1")
          endif()
        endif()
      endforeach()
      if(is_public)
        foreach(pattern IN LISTS third_party_patterns)
          if(inc MATCHES "^${pattern}")
            message(SEND_ERROR "${rel}: public header includes third-party `${inc}`")
            math(EXPR violations "${violations} + 1")
          endif()
        endforeach()
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations GREATER 0)
  message(FATAL_ERROR "layering: ${violations} violation(s)")
endif()
message(STATUS "layering: ok")
