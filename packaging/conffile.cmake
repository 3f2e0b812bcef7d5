# Derive the packaged /etc/ustatsd/ustatsd.json from the example configuration, at build
# time, so that the package follows the example as it changes: the example with
# daemon.socket where ustatsd.socket makes it. The text is edited, not re-serialised,
# so that the file keeps the example's order, layout and wording; every edit must apply
# exactly once, and the result is parsed to check what the units rely on.
#   cmake -DIN=packaging/ustatsd.example.json -DOUT=ustatsd.json -P conffile.cmake
file(READ "${IN}" text)

function(edit key value)
    set(re "\"${key}\": \"[^\"]*\"")
    string(REGEX MATCHALL "${re}" found "${text}")
    list(LENGTH found n)
    if(NOT n EQUAL 1)
        message(FATAL_ERROR "${IN}: expected one \"${key}\": \"...\", found ${n}")
    endif()
    string(REGEX REPLACE "${re}" "\"${key}\": \"${value}\"" text "${text}")
    set(text "${text}" PARENT_SCOPE)
endfunction()

edit(socket "/run/ustatsd/ustatsd.sock")
edit(metrics_listen "127.0.0.1:9464")

# What ustatsd.socket passes must be what the file names (the daemon refuses a passed
# socket its configuration does not ask for).
string(JSON socket GET "${text}" daemon socket)
string(JSON listen GET "${text}" daemon metrics_listen)
if(NOT socket STREQUAL "/run/ustatsd/ustatsd.sock" OR NOT listen STREQUAL "127.0.0.1:9464")
    message(FATAL_ERROR "${OUT}: daemon.socket ${socket}, daemon.metrics_listen ${listen}")
endif()
file(WRITE "${OUT}.tmp" "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
