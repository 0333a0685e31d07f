# Writes OUT (a .cpp defining mc::cli::git_revision()) from `git describe` of SOURCE_DIR, and
# rewrites it only when the revision changed, so an unchanged tree recompiles nothing.
execute_process(COMMAND git -C ${SOURCE_DIR} describe --always --dirty --abbrev=12 OUTPUT_VARIABLE revision
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT revision)
  set(revision unknown)  # not a git checkout (a release tarball)
endif()
file(WRITE ${OUT}.new "namespace mc::cli {\nconst char* git_revision() { return \"${revision}\"; }\n}  // namespace mc::cli\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.new ${OUT})
file(REMOVE ${OUT}.new)
