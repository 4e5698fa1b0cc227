# Turns the default policy bundle in policies/ (*.cedar files and custody.cedarschema) into a C++
# source, so that custodyd can install its default policies without reading files at run time.
function(custody_embed_policies out_var dir)
  file(GLOB files CONFIGURE_DEPENDS "${dir}/*.cedar" "${dir}/*.cedarschema")
  # The file names, rewritten only when they change: a file added or removed re-embeds (a
  # removed file is no dependency that could make the output stale on its own).
  set(listed "${CMAKE_CURRENT_BINARY_DIR}/embedded_policies.list")
  file(CONFIGURE OUTPUT "${listed}" CONTENT "${files}")
  set(out "${CMAKE_CURRENT_BINARY_DIR}/embedded_policies.cc")
  set(script "${CMAKE_CURRENT_BINARY_DIR}/embed_policies.cmake")
  file(WRITE "${script}" [=[
file(GLOB cedar_files "${DIR}/*.cedar")
list(SORT cedar_files)
file(READ "${DIR}/custody.cedarschema" schema)
set(body "// Generated from policies/; do not edit.\n#include \"policy/defaults.h\"\nnamespace custody::policy {\nBundleSource default_bundle() {\n  BundleSource b;\n")
foreach(f IN LISTS cedar_files)
  get_filename_component(name "${f}" NAME)
  file(READ "${f}" text)
  string(APPEND body "  b.files.push_back({\"${name}\", R\"custody_cedar(${text})custody_cedar\"});\n")
endforeach()
string(APPEND body "  b.schema_format = SchemaFormat::kCedar;\n  b.schema_text = R\"custody_cedar(${schema})custody_cedar\";\n  return b;\n}\n}  // namespace custody::policy\n")
file(WRITE "${OUT}.tmp" "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
]=])
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DDIR=${dir} -DOUT=${out} -P "${script}"
    DEPENDS ${files} "${listed}"
    COMMENT "Embedding the default policies")
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()
