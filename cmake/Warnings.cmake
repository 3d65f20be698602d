# Compiler flags shared by every fnjail target (house style, "Build hygiene").
add_library(fnjail_flags INTERFACE)
add_library(fnjail::flags ALIAS fnjail_flags)
target_compile_options(fnjail_flags INTERFACE
  -Wall -Wextra -Wpedantic -Werror -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wformat=2 -Wswitch-enum -Wimplicit-fallthrough)
# g++ 12's flow-based buffer warnings misfire inside libstdc++'s vector and string code
# once optimisation inlines it (GCC PRs 105329, 105651, 107852; fixed in GCC 13). They
# stay visible as warnings but do not fail an optimised g++ 12 build; every build also runs
# under ASan+UBSan, which checks the same accesses at run time.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(fnjail_flags INTERFACE
    -Wno-error=array-bounds -Wno-error=restrict -Wno-error=stringop-overflow)
endif()
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
