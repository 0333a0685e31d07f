# CTest: a separate project that includes matcomp with add_subdirectory builds, links and runs.
# cmake -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... [-DLAUNCHER=...] -DBUILD_TYPE=... -P <this>
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (exit ${rc}):\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(launcher_flag)
if(LAUNCHER)
  set(launcher_flag -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run("configuring the parent project" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/add_subdirectory
    -B ${WORK_DIR} -G ${GENERATOR} -DMATCOMP_SOURCE=${SOURCE_DIR} -DCMAKE_BUILD_TYPE=${BUILD_TYPE} ${launcher_flag})
run("building the parent project" ${CMAKE_COMMAND} --build ${WORK_DIR} --target uses_matcomp)
run("running it" ${WORK_DIR}/uses_matcomp)
if(NOT run_output MATCHES "uses_matcomp: trace")
  message(FATAL_ERROR "unexpected output: ${run_output}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
