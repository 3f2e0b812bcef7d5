# Install-time part of the installation (install(CODE) in package.cmake includes it):
# what depends on the prefix the installation is made to, known only now (cmake
# --install --prefix, or /usr under CPack). With the prefix /usr the configuration goes
# to /etc and the state directory to /var, as GNUInstallDirs places them and as the
# units expect; with any other prefix both stay under it (/usr/local/etc/ustatsd/...).
# The service is written for the binary's real path and that configuration file.
# Set by the caller: USTATSD_BUILD_DIR (the generated files), USTATSD_SOURCE_DIR.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(sys "")
else()
    set(sys "${CMAKE_INSTALL_PREFIX}")
endif()
set(USTATSD_UNIT_BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
set(USTATSD_UNIT_CONFIG "${sys}/etc/ustatsd/ustatsd.json")

file(READ "${USTATSD_BUILD_DIR}/packaging/ustatsd.service.install.in" unit)
string(CONFIGURE "${unit}" unit @ONLY)
file(WRITE "${USTATSD_BUILD_DIR}/packaging/install/ustatsd.service" "${unit}")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
    FILES "${USTATSD_BUILD_DIR}/packaging/install/ustatsd.service"
          "${USTATSD_SOURCE_DIR}/packaging/ustatsd.socket")
file(INSTALL DESTINATION "${sys}/etc/ustatsd" TYPE FILE
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
    FILES "${USTATSD_SOURCE_DIR}/packaging/ustatsd.json")
file(INSTALL DESTINATION "${sys}/var/lib" TYPE DIRECTORY
    FILES "${USTATSD_BUILD_DIR}/packaging/install/state/ustatsd")
