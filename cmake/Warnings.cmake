# Compiler flags shared by every fnjail target (house style, "Build hygiene").
add_library(fnjail_flags INTERFACE)
add_library(fnjail::flags ALIAS fnjail_flags)
target_compile_options(fnjail_flags INTERFACE
  -Wall -Wextra -Wpedantic -Werror -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wformat=2 -Wswitch-enum -Wimplicit-fallthrough)
target_compile_definitions(fnjail_flags INTERFACE $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS>)
target_compile_options(fnjail_flags INTERFACE
  $<$<CONFIG:Release,RelWithDebInfo>:-fstack-protector-strong>)
target_compile_definitions(fnjail_flags INTERFACE
  $<$<CONFIG:Release,RelWithDebInfo>:_FORTIFY_SOURCE=2>)

if(FNJAIL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

if(FNJAIL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "FNJAIL_FUZZ=ON needs clang (use the fuzz preset)")
  endif()
  # Instrument everything for coverage; harnesses add -fsanitize=fuzzer at link.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
