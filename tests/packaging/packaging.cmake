# Packaging: install into a temporary prefix and check what landed.
add_test(NAME packaging.install COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/packaging/install_test.sh ${CMAKE_BINARY_DIR})
set_tests_properties(packaging.install PROPERTIES TIMEOUT 60 LABELS packaging)
