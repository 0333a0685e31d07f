# All dependencies come from Debian packages (scripts/install-deps.sh installs them).

# OpenBLAS, OpenMP flavour, and LAPACKE (cmake/MatcompOpenBLAS.cmake says why the OpenMP
# build, and how its rpath reaches every executable, ours and a consumer's).
set(MATCOMP_OPENBLAS_DIR "/usr/lib/x86_64-linux-gnu/openblas-openmp" CACHE PATH
    "Directory of the OpenMP build of OpenBLAS")
include(${CMAKE_CURRENT_LIST_DIR}/MatcompOpenBLAS.cmake)
matcomp_openblas_target(matcomp_openblas)
# The installed tools keep the OpenMP build's directory in their RPATH too.
set(CMAKE_INSTALL_RPATH ${MATCOMP_OPENBLAS_DIR})

find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
if(MATCOMP_BUILD_TOOLS)
  find_package(CLI11 REQUIRED)  # the command-line tools only
endif()
find_package(Threads REQUIRED)
find_package(CURL REQUIRED)      # datasets: the download command
find_package(OpenSSL REQUIRED)   # datasets: MD5 / SHA-256 of the archives
# distributed/: MPI is optional. Without it the library still builds, with only the
# single-process Communicator, and its tests still run. We call MPI's C API only, and
# FindMPI looks for the C bindings with a C compiler, so C is enabled when there is one.
include(CheckLanguage)
check_language(C)
if(CMAKE_C_COMPILER)
  enable_language(C)
  find_package(MPI COMPONENTS C QUIET)
endif()
option(MATCOMP_MPI "Build the MPI communicator in distributed/ (needs libopenmpi-dev)" ${MPI_C_FOUND})
if(MATCOMP_MPI AND NOT MPI_C_FOUND)
  message(FATAL_ERROR "MATCOMP_MPI is ON but no MPI was found. Run scripts/install-deps.sh "
                      "(packages libopenmpi-dev openmpi-bin) or configure with -DMATCOMP_MPI=OFF.")
endif()
if(MATCOMP_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(MATCOMP_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()

# matcomp_library(<target> DEPS <targets...>): one static library from every .cpp in the
# calling folder and its sub-folders (an INTERFACE library while there is none yet). Consumers see it as
# matcomp::<area> (matcomp_core -> matcomp::core), in this build through an ALIAS and once
# installed through the exported package; its headers are found as "matcomp/<area>/x.h" from
# include/ while building (include/matcomp/<area> links to the area's folder) and from
# <prefix>/include once installed.
function(matcomp_library target)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(sources)
    add_library(${target} STATIC ${sources})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
    set(scope PUBLIC)
  else()
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
    set(scope INTERFACE)
  endif()
  target_include_directories(${target} ${scope} $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  string(REPLACE "matcomp_" "" area ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${area})
  add_library(matcomp::${area} ALIAS ${target})
  set_property(GLOBAL APPEND PROPERTY MATCOMP_LIBRARIES ${target})
endfunction()
