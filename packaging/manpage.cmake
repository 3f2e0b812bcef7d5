# The manual page with its option list: cmake -DBINARY=ustatsd -DIN=page.in -DOUT=page
# -P manpage.cmake. The list is what `ustatsd --help-man` prints from the option table
# (the daemon's settings and its commands), put where the page's marker line stands.
execute_process(COMMAND ${BINARY} --help-man OUTPUT_VARIABLE options
    RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR options STREQUAL "")
    message(FATAL_ERROR "${BINARY} --help-man: exit ${rc}")
endif()
file(READ ${IN} page)
set(marker ".\\\" OPTIONS: the build puts each option here from the option table (ustatsd --help-man)\n")
string(FIND "${page}" "${marker}" at)
if(at EQUAL -1)
    message(FATAL_ERROR "${IN}: no OPTIONS marker line")
endif()
string(REPLACE "${marker}" "${options}" page "${page}")
file(WRITE ${OUT}.tmp "${page}")
file(RENAME ${OUT}.tmp ${OUT})
