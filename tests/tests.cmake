# Unit tests: every tests/unit/test_*.c is one cmocka program linked against
# jwcore.  Scenario tests: every tests/scenario/test_*.py and *.sh is run with
# the build directory in JW_BUILD_DIR.
find_program(PYTHON3 python3 REQUIRED)

# What the unit tests share (tests/unit/jwtest.h): temp dirs, the HTTP test server.
find_package(Threads REQUIRED)
add_library(jwunit STATIC ${CMAKE_SOURCE_DIR}/tests/unit/jwtest.c)
target_link_libraries(jwunit PUBLIC jwcore PkgConfig::CMOCKA Threads::Threads)

file(GLOB JW_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${JW_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE jwunit jwcore PkgConfig::CMOCKA)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
  add_test(NAME unit/${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/tests)
  set_tests_properties(unit/${name} PROPERTIES
    ENVIRONMENT "JW_SOURCE_DIR=${CMAKE_SOURCE_DIR};JW_BUILD_DIR=${CMAKE_BINARY_DIR}"
    TIMEOUT 120)
endforeach()

# Helper programs for scenario tests (tests/helpers/*.c, one program each).
file(GLOB JW_TEST_HELPERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/helpers/*.c)
foreach(src ${JW_TEST_HELPERS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE jwcore)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/helpers)
endforeach()

file(GLOB JW_SCENARIO_TESTS CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/tests/scenario/test_*.py ${CMAKE_SOURCE_DIR}/tests/scenario/test_*.sh)
foreach(src ${JW_SCENARIO_TESTS})
  get_filename_component(name ${src} NAME_WE)
  get_filename_component(ext ${src} EXT)
  if(ext STREQUAL ".py")
    add_test(NAME scenario/${name} COMMAND ${PYTHON3} ${src})
  else()
    add_test(NAME scenario/${name} COMMAND bash ${src})
  endif()
  set_tests_properties(scenario/${name} PROPERTIES
    ENVIRONMENT "JW_SOURCE_DIR=${CMAKE_SOURCE_DIR};JW_BUILD_DIR=${CMAKE_BINARY_DIR};JW_SANITIZE=$<BOOL:${JW_SANITIZE}>;PYTHONDONTWRITEBYTECODE=1"
    TIMEOUT 600 SKIP_RETURN_CODE 77)
endforeach()
