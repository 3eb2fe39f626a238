# embed.cmake: turn a file into a C byte array, for assets served by jobqd.
# cmake -DIN=<file> -DOUT=<c file> -DNAME=<symbol> -P embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
get_filename_component(base "${IN}" NAME)
file(WRITE "${OUT}" "/* Generated from ${base} by cmake/embed.cmake: do not edit. */\n#include <stddef.h>\nconst unsigned char ${NAME}[] = {${bytes}0x00};\nconst size_t ${NAME}_len = ${len};\n")
