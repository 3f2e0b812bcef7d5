# Installation and the Debian package (`cmake --install B --prefix P`,
# `cmake --build B --target package`). Included by the top CMakeLists.txt.
#
# Under the prefix: the binaries, the client header, the manual pages, the
# documentation, each seed's files, the systemd units, the sysctl.d and sysusers.d files.
# The configuration and the state directory go to /etc and /var when the prefix is /usr
# (packaging/install_system.cmake decides at install time, since CPack installs with the
# prefix /usr whatever this build was configured with).
include(GNUInstallDirs)

install(TARGETS ustatsd ustatsd-send RUNTIME DESTINATION bin)
# The client is one header with no library to link: it goes with the package, not into a
# -dev package of its own.
install(FILES client/ustatsd.h DESTINATION include)

# Manual pages, with the version, compressed as Debian policy asks (gzip -n: no name or
# time stamp in the file, so that the same source builds the same package).
set(pkgdir ${CMAKE_CURRENT_BINARY_DIR}/packaging)
set(USTATSD_VERSION ${PROJECT_VERSION})
find_program(GZIP gzip REQUIRED)
set(package_generated)
# ustatsd.1's option list comes from the daemon's option table (ustatsd --help-man),
# put into the page once the daemon is built (packaging/manpage.cmake).
configure_file(packaging/ustatsd.1 ${pkgdir}/doc/ustatsd.1.in @ONLY)
add_custom_command(OUTPUT ${pkgdir}/doc/ustatsd.1
    COMMAND ${CMAKE_COMMAND} -DBINARY=$<TARGET_FILE:ustatsd> -DIN=${pkgdir}/doc/ustatsd.1.in
        -DOUT=${pkgdir}/doc/ustatsd.1 -P ${PROJECT_SOURCE_DIR}/packaging/manpage.cmake
    DEPENDS ustatsd ${pkgdir}/doc/ustatsd.1.in ${PROJECT_SOURCE_DIR}/packaging/manpage.cmake
    VERBATIM)
foreach(doc ustatsd.1 ustatsd-send.1 debian/changelog)
    get_filename_component(name ${doc} NAME)
    if(NOT doc STREQUAL "ustatsd.1")
        configure_file(packaging/${doc} ${pkgdir}/doc/${name} @ONLY)
    endif()
    add_custom_command(OUTPUT ${pkgdir}/doc/${name}.gz
        COMMAND ${GZIP} -9nc ${pkgdir}/doc/${name} > ${pkgdir}/doc/${name}.gz
        DEPENDS ${pkgdir}/doc/${name} VERBATIM)
    list(APPEND package_generated ${pkgdir}/doc/${name}.gz)
endforeach()

add_custom_target(package_files ALL DEPENDS ${package_generated})

install(FILES ${pkgdir}/doc/ustatsd.1.gz ${pkgdir}/doc/ustatsd-send.1.gz
    DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES packaging/debian/copyright README.md proto/PROTOCOL.md
    DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The reference the README links to, where its links find it (docs/ beside README.md).
file(GLOB USTATSD_DOCS CONFIGURE_DEPENDS docs/*.md)
install(FILES ${USTATSD_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
# The example configuration (what the README's set-up runs): every kind of family,
# a job, a writer policy. /etc/ustatsd/ustatsd.json is packaging/ustatsd.json instead,
# which names no service and admits no family until the operator adds them.
install(FILES packaging/ustatsd.example.json DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${pkgdir}/doc/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR}
    RENAME changelog.Debian.gz)
install(FILES packaging/debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
    RENAME ustatsd)
install(DIRECTORY packaging/seeds/ DESTINATION ${CMAKE_INSTALL_DATADIR}/ustatsd/seeds)
install(FILES packaging/ustatsd.sysctl.conf DESTINATION lib/sysctl.d RENAME ustatsd.conf)
install(FILES packaging/ustatsd.sysusers.conf DESTINATION lib/sysusers.d RENAME ustatsd.conf)

# The service as installed: everything of this machine's systemd filled in now, the
# binary's and the configuration's paths at install time.
set(USTATSD_UNIT_BINDIR_SAVED "${USTATSD_UNIT_BINDIR}")
set(USTATSD_UNIT_CONFIG_SAVED "${USTATSD_UNIT_CONFIG}")
set(USTATSD_UNIT_BINDIR "@USTATSD_UNIT_BINDIR@")
set(USTATSD_UNIT_CONFIG "@USTATSD_UNIT_CONFIG@")
configure_file(packaging/ustatsd.service.in ${pkgdir}/ustatsd.service.install.in @ONLY)
set(USTATSD_UNIT_BINDIR "${USTATSD_UNIT_BINDIR_SAVED}")
set(USTATSD_UNIT_CONFIG "${USTATSD_UNIT_CONFIG_SAVED}")
file(MAKE_DIRECTORY ${pkgdir}/install/state/ustatsd)
install(CODE "set(USTATSD_BUILD_DIR \"${CMAKE_CURRENT_BINARY_DIR}\")
    set(USTATSD_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
    include(\"${PROJECT_SOURCE_DIR}/packaging/install_system.cmake\")")

# The Debian package. Its maintainer scripts are in packaging/debian/.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ustatsd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Debian revision 1 of the upstream version: the package is made from the tree, not the
# tree for the package (a native package would name its changelog changelog.gz).
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "ustatsd maintainers <maintainers@users.noreply.b-seed-77ee7361.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "statsd aggregator with an allowlist, served to Prometheus")
# CPack writes the summary as the description's first line.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "ustatsd receives statsd (DogStatsD) lines on a Unix datagram socket, checks
every metric name, label key and label value against an allowlist, aggregates
counters, gauges, histograms and background-job outcomes, and serves them to
Prometheus (text 0.0.4 or OpenMetrics) with a JSON debug view. Bad input is
counted and dropped, and memory stays within the configured limits.
.
This package has the daemon with its systemd units, ustatsd-send for shell
scripts, the header-only C client, and for each reference service its
allowlist, Prometheus scrape configuration, rules and Grafana dashboard.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared-library dependencies from dpkg-shlibdeps (dpkg-dev); the maintainer scripts
# need systemd-sysusers (and deb-systemd-helper, from the essential init-system-helpers).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# A unit of Type=notify-reload (written when the building machine has systemd 253 or
# later) is refused by an older systemd: such a package says so.
if(USTATSD_UNIT_TYPE STREQUAL "notify-reload")
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd (>= 253)")
else()
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | systemd-standalone-sysusers")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
