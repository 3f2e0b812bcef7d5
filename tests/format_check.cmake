# Fails when clang-format would change any C, C++ or header file of the project.
file(GLOB_RECURSE files
    ${SOURCE_DIR}/aggregator/*.c ${SOURCE_DIR}/aggregator/*.h
    ${SOURCE_DIR}/client/*.c ${SOURCE_DIR}/client/*.h
    ${SOURCE_DIR}/proto/*.c ${SOURCE_DIR}/proto/*.h
    ${SOURCE_DIR}/tests/*.c ${SOURCE_DIR}/tests/*.h ${SOURCE_DIR}/tests/*.cpp)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${files}
    RESULT_VARIABLE rc ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "clang-format would change these files:\n${out}")
endif()
list(LENGTH files n)
message(STATUS "clang-format: ${n} files clean")
