# libFuzzer targets (configure with -DCMAKE_C_COMPILER=clang -DJW_FUZZ=ON, or
# just run scripts/fuzz.sh).  The daemon sources are compiled a second time
# into jwcore_fuzz with coverage instrumentation (fuzzer-no-link) and
# ASan+UBSan; each tests/fuzz/fuzz_NAME.c becomes <build>/fuzz/fuzz_NAME,
# linked with the libFuzzer driver.  UBSan findings abort so that libFuzzer
# saves the input.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "JW_FUZZ needs clang (libFuzzer): configure with -DCMAKE_C_COMPILER=clang "
                      "or use scripts/fuzz.sh")
endif()

set(JW_FUZZ_FLAGS -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all)

add_library(jwcore_fuzz STATIC ${JW_CORE_SOURCES})
target_compile_options(jwcore_fuzz PUBLIC -iquote ${CMAKE_SOURCE_DIR}/daemon
  PRIVATE ${JW_FUZZ_FLAGS} -fsanitize=fuzzer-no-link,address,undefined)
target_link_libraries(jwcore_fuzz PUBLIC PkgConfig::DEPS m)

file(GLOB JW_FUZZ_HARNESSES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
set(JW_FUZZ_TARGETS)
foreach(src ${JW_FUZZ_HARNESSES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${JW_FUZZ_FLAGS} -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  target_link_libraries(${name} PRIVATE jwcore_fuzz)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  list(APPEND JW_FUZZ_TARGETS ${name})
endforeach()
add_custom_target(fuzz_all DEPENDS ${JW_FUZZ_TARGETS})
