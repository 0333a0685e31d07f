# CTest: a separate project that includes matcomp with add_subdirectory builds, links and runs;
# with -DVIA=fetchcontent it clones the source folder's repository at its HEAD commit instead
# (FetchContent), and says so and passes where the source folder is not a git checkout.
# cmake -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... [-DLAUNCHER=...] -DBUILD_TYPE=... [-DVIA=fetchcontent] -P <this>
include(${CMAKE_CURRENT_LIST_DIR}/run_step.cmake)

file(REMOVE_RECURSE ${WORK_DIR})
set(launcher_flag)
if(LAUNCHER)
  set(launcher_flag -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
set(include_flags -DMATCOMP_SOURCE=${SOURCE_DIR})
if(VIA STREQUAL "fetchcontent")
  find_package(Git QUIET)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} rev-parse HEAD RESULT_VARIABLE rc OUTPUT_VARIABLE head
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT GIT_FOUND OR NOT rc EQUAL 0)
    message(STATUS "SKIPPED: ${SOURCE_DIR} is not a git checkout (or git is missing): FetchContent is not tested")
    return()
  endif()
  # The commit, not the working tree: uncommitted changes are not in what FetchContent clones.
  set(include_flags -DMATCOMP_GIT=file://${SOURCE_DIR} -DMATCOMP_GIT_TAG=${head})
endif()
run("configuring the parent project" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/add_subdirectory
    -B ${WORK_DIR} -G ${GENERATOR} ${include_flags} -DCMAKE_BUILD_TYPE=${BUILD_TYPE} ${launcher_flag})
run("building the parent project" ${CMAKE_COMMAND} --build ${WORK_DIR} --target uses_matcomp)
run("running it" ${WORK_DIR}/uses_matcomp)
if(NOT run_output MATCHES "uses_matcomp: trace")
  message(FATAL_ERROR "unexpected output: ${run_output}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
