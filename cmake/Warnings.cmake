# The warning set every target compiles with. CI (.ci/run) adds -Werror
# through ZIPLLM_WERROR=ON.
#
# GCC 12 warns about its own inlined std::string, std::vector and
# std::regex code at -O2 (-Wrestrict, -Warray-bounds, -Wstringop-overflow:
# GCC bugs 105329, 105651; -Wmaybe-uninitialized inside <regex> once the
# sanitizers are on); those stay warnings, never errors.
set(ZIPLLM_WARNINGS
  -Wall -Wextra -Wshadow -Woverloaded-virtual -Wnon-virtual-dtor -Wformat=2
  -Wimplicit-fallthrough -Wmissing-declarations -Wundef -Wcast-qual -Wvla)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND ZIPLLM_WARNINGS -Wduplicated-cond -Wlogical-op
       -Wno-error=restrict -Wno-error=array-bounds -Wno-error=stringop-overflow
       -Wno-error=maybe-uninitialized)
endif()
add_compile_options(${ZIPLLM_WARNINGS})
if(ZIPLLM_WERROR)
  add_compile_options(-Werror)
endif()
