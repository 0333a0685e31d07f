# matcomp_openblas_target(<target>): an INTERFACE target for OpenBLAS (OpenMP build) + LAPACKE.
# Used by the build (target matcomp_openblas) and by the installed package's config file
# (target matcomp::openblas), so a consumer gets the same choice of library as matcomp itself.
#
# Why the OpenMP build: Debian's alternatives usually point libopenblas.so.0 and libblas.so.3
# at the pthread flavour, whose thread pool fights OpenMP for the cores. We locate the OpenMP
# flavour's directory (MATCOMP_OPENBLAS_DIR) and put it in the binaries' RPATH as DT_RPATH
# (--disable-new-dtags): unlike DT_RUNPATH, DT_RPATH also governs indirect dependencies such as
# liblapacke -> liblapack -> libopenblas. The link options travel with the target, so every
# executable linked against matcomp (in this build, through add_subdirectory, or installed)
# loads the OpenMP build without any rpath set by hand.
function(matcomp_openblas_target target)
  if(TARGET ${target})
    return()
  endif()
  if(NOT MATCOMP_OPENBLAS_DIR)
    set(MATCOMP_OPENBLAS_DIR "/usr/lib/x86_64-linux-gnu/openblas-openmp")
  endif()
  find_package(OpenBLAS CONFIG QUIET PATHS ${MATCOMP_OPENBLAS_DIR}/cmake NO_DEFAULT_PATH)
  if(NOT OpenBLAS_FOUND)
    message(FATAL_ERROR "OpenBLAS (OpenMP build) not found in ${MATCOMP_OPENBLAS_DIR}. "
                        "Run scripts/install-deps.sh (package libopenblas-openmp-dev), or set "
                        "MATCOMP_OPENBLAS_DIR to the folder holding its libopenblas.so.")
  endif()
  find_path(LAPACKE_INCLUDE_DIR lapacke.h)
  find_library(LAPACKE_LIBRARY lapacke)
  if(NOT LAPACKE_INCLUDE_DIR OR NOT LAPACKE_LIBRARY)
    message(FATAL_ERROR "LAPACKE not found (lapacke.h: ${LAPACKE_INCLUDE_DIR}, library: ${LAPACKE_LIBRARY}). "
                        "Run scripts/install-deps.sh (package liblapacke-dev).")
  endif()
  if(target MATCHES "::")
    add_library(${target} INTERFACE IMPORTED)
  else()
    add_library(${target} INTERFACE)
  endif()
  target_include_directories(${target} INTERFACE ${OpenBLAS_INCLUDE_DIRS} ${LAPACKE_INCLUDE_DIR})
  target_link_libraries(${target} INTERFACE ${OpenBLAS_LIBRARIES} ${LAPACKE_LIBRARY})
  target_link_options(${target} INTERFACE "LINKER:--disable-new-dtags" "LINKER:-rpath,${MATCOMP_OPENBLAS_DIR}")
endfunction()
