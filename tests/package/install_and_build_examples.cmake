# CTest: install this build into an empty prefix, build examples/ as a separate project
# against it (find_package(matcomp CONFIG)), run every example, and check that the installed
# tools and the examples load the OpenMP build of OpenBLAS and that the pkg-config file links.
# cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... [-DLAUNCHER=...] -P <this>
include(${CMAKE_CURRENT_LIST_DIR}/run_step.cmake)

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(expected include/matcomp/compression/apply_compression.h include/matcomp/core/tensor.h
                 lib/cmake/matcomp/matcomp-config.cmake lib/cmake/matcomp/matcomp-config-version.cmake
                 lib/pkgconfig/matcomp.pc lib/libmatcomp_core.a bin/matcomp-demo bin/matcomp-factorize)
  if(NOT EXISTS ${prefix}/${expected})
    message(FATAL_ERROR "the install into ${prefix} has no ${expected}")
  endif()
endforeach()
if(EXISTS ${prefix}/bin/distributed_fault_probe)
  message(FATAL_ERROR "a test helper (distributed_fault_probe) was installed with the tools")
endif()

set(launcher_flag)
if(LAUNCHER)
  set(launcher_flag -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run("configuring examples/" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples -B ${WORK_DIR}/examples -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release ${launcher_flag})
run("building examples/" ${CMAKE_COMMAND} --build ${WORK_DIR}/examples)

file(GLOB example_sources ${SOURCE_DIR}/examples/*.cpp)
foreach(source ${example_sources})
  get_filename_component(name ${source} NAME_WE)
  message(STATUS "running ${name}")
  run("example ${name}" ${WORK_DIR}/examples/${name})
  message(STATUS "${run_output}")
endforeach()

# The OpenMP build of OpenBLAS must be what the dynamic loader picks (see cmake/MatcompOpenBLAS.cmake).
list(GET example_sources 0 first_example)
get_filename_component(first_example ${first_example} NAME_WE)
foreach(binary ${prefix}/bin/matcomp-demo ${WORK_DIR}/examples/${first_example})
  run("ldd ${binary}" ldd ${binary})
  if(NOT run_output MATCHES "openblas-openmp/libopenblas")
    message(FATAL_ERROR "${binary} does not load OpenBLAS's OpenMP build:\n${run_output}")
  endif()
endforeach()

# pkg-config: compile and run a small program with nothing but its flags.
find_program(PKG_CONFIG pkg-config)
find_program(CXX_COMPILER NAMES c++ g++)
if(PKG_CONFIG AND CXX_COMPILER)
  set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
  run("pkg-config" ${PKG_CONFIG} --cflags --libs matcomp)
  string(STRIP "${run_output}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run("compiling with pkg-config's flags" ${CXX_COMPILER} ${SOURCE_DIR}/tests/package/add_subdirectory/main.cpp
      -o ${WORK_DIR}/uses_matcomp_pc ${flags})
  run("the pkg-config build" ${WORK_DIR}/uses_matcomp_pc)
endif()
file(REMOVE_RECURSE ${WORK_DIR})
