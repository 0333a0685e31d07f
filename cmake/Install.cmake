# cmake --install <build> --prefix P: the libraries, the headers under P/include/matcomp/, the
# tools, a CMake package (find_package(matcomp CONFIG) -> matcomp::matcomp) and a pkg-config
# file (pkg-config --cflags --libs matcomp).
include(CMakePackageConfigHelpers)

get_property(matcomp_libraries GLOBAL PROPERTY MATCOMP_LIBRARIES)
set(matcomp_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/matcomp)
install(TARGETS ${matcomp_libraries} matcomp EXPORT matcomp-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(area core autograd layers compression formats distributed datasets)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${area}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/matcomp/${area}
          FILES_MATCHING PATTERN "*.h")
endforeach()
install(EXPORT matcomp-targets NAMESPACE matcomp:: DESTINATION ${matcomp_cmake_dir})

# The user-facing executables (test helpers stay out: they are not in these folders).
if(MATCOMP_BUILD_TOOLS)
  file(GLOB matcomp_tool_mains ${PROJECT_SOURCE_DIR}/tools/*.main.cpp ${PROJECT_SOURCE_DIR}/experiments/*.main.cpp)
  foreach(main ${matcomp_tool_mains})
    get_filename_component(name ${main} NAME_WE)
    install(TARGETS ${name} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endforeach()
endif()
if(MATCOMP_BUILD_BENCHMARKS)
  install(TARGETS matcomp-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/matcomp-config.cmake.in
                              ${PROJECT_BINARY_DIR}/matcomp-config.cmake
                              INSTALL_DESTINATION ${matcomp_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/matcomp-config-version.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/matcomp-config.cmake ${PROJECT_BINARY_DIR}/matcomp-config-version.cmake
              ${PROJECT_SOURCE_DIR}/cmake/MatcompOpenBLAS.cmake
        DESTINATION ${matcomp_cmake_dir})

# pkg-config: the same libraries, in link order, and what they need.
set(matcomp_pc_requires "nlohmann_json zlib libcurl libcrypto")
if(MATCOMP_MPI)
  string(APPEND matcomp_pc_requires " ompi-c")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/matcomp.pc.in ${PROJECT_BINARY_DIR}/matcomp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/matcomp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
