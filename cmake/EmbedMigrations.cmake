# Turns the numbered SQL files in a folder into a C++ source that lists them, so that
# custodyd carries its schema and never reads SQL from disk at run time.
function(custody_embed_migrations out_var dir)
  file(GLOB sql_files CONFIGURE_DEPENDS "${dir}/*.sql")
  list(SORT sql_files)
  # The file names, rewritten only when they change: a file added or removed re-embeds (a
  # removed file is no dependency that could make the output stale on its own).
  set(listed "${CMAKE_CURRENT_BINARY_DIR}/embedded_migrations.list")
  file(CONFIGURE OUTPUT "${listed}" CONTENT "${sql_files}")
  set(out "${CMAKE_CURRENT_BINARY_DIR}/embedded_migrations.cc")
  set(script "${CMAKE_CURRENT_BINARY_DIR}/embed_migrations.cmake")
  file(WRITE "${script}" [=[
file(GLOB sql_files "${DIR}/*.sql")
list(SORT sql_files)
set(body "// Generated from src/store/migrations; do not edit.\n#include \"store/migrations.h\"\nnamespace custody::store {\nconst std::vector<Migration>& embedded_migrations() {\n  static const std::vector<Migration> all = {\n")
foreach(f IN LISTS sql_files)
  get_filename_component(name "${f}" NAME_WE)
  string(REGEX MATCH "^[0-9]+" version "${name}")
  # "0008" would be an (invalid) octal literal in C++: drop the leading zeros.
  string(REGEX REPLACE "^0+([0-9])" "\\1" version "${version}")
  file(READ "${f}" sql)
  string(APPEND body "    {${version}, \"${name}\", R\"custody_sql(${sql})custody_sql\"},\n")
endforeach()
string(APPEND body "  };\n  return all;\n}\n}  // namespace custody::store\n")
file(WRITE "${OUT}.tmp" "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
]=])
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DDIR=${dir} -DOUT=${out} -P "${script}"
    DEPENDS ${sql_files} "${CMAKE_CURRENT_FUNCTION_LIST_FILE}" "${listed}"
    COMMENT "Embedding SQL migrations")
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()
