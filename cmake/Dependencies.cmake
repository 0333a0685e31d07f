# All dependencies come from Debian packages (scripts/install-deps.sh installs them).

# OpenBLAS, OpenMP flavour. Debian's alternatives usually point libopenblas.so.0 and
# libblas.so.3 at the pthread flavour, whose thread pool fights OpenMP for the cores.
# We locate the OpenMP flavour's directory and put it in the binaries' RPATH (DT_RPATH, which
# also governs indirect dependencies such as liblapacke -> liblapack -> libopenblas).
set(MATCOMP_OPENBLAS_DIR "/usr/lib/x86_64-linux-gnu/openblas-openmp" CACHE PATH
    "Directory of the OpenMP build of OpenBLAS")
find_package(OpenBLAS CONFIG QUIET PATHS ${MATCOMP_OPENBLAS_DIR}/cmake NO_DEFAULT_PATH)
if(NOT OpenBLAS_FOUND)
  message(FATAL_ERROR "OpenBLAS (OpenMP build) not found in ${MATCOMP_OPENBLAS_DIR}. "
                      "Run scripts/install-deps.sh (package libopenblas-openmp-dev).")
endif()
add_library(matcomp_openblas INTERFACE)
target_include_directories(matcomp_openblas INTERFACE ${OpenBLAS_INCLUDE_DIRS})
target_link_libraries(matcomp_openblas INTERFACE ${OpenBLAS_LIBRARIES})

find_path(LAPACKE_INCLUDE_DIR lapacke.h REQUIRED)
find_library(LAPACKE_LIBRARY lapacke REQUIRED)
target_include_directories(matcomp_openblas INTERFACE ${LAPACKE_INCLUDE_DIR})
target_link_libraries(matcomp_openblas INTERFACE ${LAPACKE_LIBRARY})

set(CMAKE_BUILD_RPATH ${MATCOMP_OPENBLAS_DIR})
set(CMAKE_INSTALL_RPATH ${MATCOMP_OPENBLAS_DIR})
add_link_options(-Wl,--disable-new-dtags)

find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
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
# calling folder (an INTERFACE library while the folder has none yet).
function(matcomp_library target)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(sources)
    add_library(${target} STATIC ${sources})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  endif()
endfunction()
