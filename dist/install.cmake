# SPDX-License-Identifier: MIT
# dist/install.cmake - install rules for running kmsdns as a system service,
# included last by the top-level CMakeLists.txt (after every program's own
# install rule).  debian/ builds the package from exactly these rules.
#
#   sbin/kmsd                       the daemon (kms_program puts every program in
#                                   bin/; kmsd is moved to sbin/ at install time)
#   /etc/kmsd/kmsd.conf             docs/kmsd.conf.example with publishing off
#                                   (an existing file is never overwritten)
#   <unitdir>/kmsd.service, .socket dist/systemd/, paths set to this prefix
#   <sysusersdir>/kmsdns.conf       the kmsd system user
#   share/doc/kmsdns/               LICENSE, systemd/README.md (the units' notes),
#                                   zones/ (the reference BIND configuration)
#
# KMS_SYSTEMD_UNITDIR and KMS_SYSUSERSDIR default, for prefix /usr, to what
# systemd's pkg-config file says (Debian 12: /lib/systemd/system and
# /usr/lib/sysusers.d), else to <prefix>/lib/systemd/system and
# <prefix>/lib/sysusers.d (systemd looks in /usr/local/lib/... too).

set(KMS_SYSTEMD_UNITDIR "" CACHE PATH "Where kmsd.service and kmsd.socket go (default: see dist/install.cmake)")
set(KMS_SYSUSERSDIR "" CACHE PATH "Where the sysusers.d file goes (default: see dist/install.cmake)")

set(_kms_unitdir "${KMS_SYSTEMD_UNITDIR}")
set(_kms_sysusersdir "${KMS_SYSUSERSDIR}")
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  if(NOT _kms_unitdir)
    pkg_get_variable(_kms_unitdir systemd systemdsystemunitdir)
  endif()
  if(NOT _kms_sysusersdir)
    pkg_get_variable(_kms_sysusersdir systemd sysusersdir)
  endif()
endif()
if(NOT _kms_unitdir)
  set(_kms_unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
if(NOT _kms_sysusersdir)
  set(_kms_sysusersdir "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d")
endif()

set(_kms_confdir "${CMAKE_INSTALL_FULL_SYSCONFDIR}/kmsd")
set(_kms_dist "${CMAKE_CURRENT_BINARY_DIR}/dist")

# kmsd is a daemon: sbin/.  kms_program installed it to bin/ already (the
# install rules run in the order they were declared, and this file comes
# last), so move it.
install(CODE "
  set(_bin \"\$ENV{DESTDIR}${CMAKE_INSTALL_FULL_BINDIR}/kmsd\")
  set(_sbin \"\$ENV{DESTDIR}${CMAKE_INSTALL_FULL_SBINDIR}\")
  if(EXISTS \"\${_bin}\")
    file(MAKE_DIRECTORY \"\${_sbin}\")
    file(RENAME \"\${_bin}\" \"\${_sbin}/kmsd\")
    message(STATUS \"Moved to: \${_sbin}/kmsd\")
  endif()")

# The units name /usr/sbin/kmsd and /etc/kmsd/kmsd.conf (the package's
# paths); installed elsewhere they name where things went.
foreach(_unit kmsd.service kmsd.socket)
  file(READ "${CMAKE_CURRENT_SOURCE_DIR}/dist/systemd/${_unit}" _text)
  string(REPLACE "/usr/sbin/kmsd" "${CMAKE_INSTALL_FULL_SBINDIR}/kmsd" _text "${_text}")
  string(REPLACE "/etc/kmsd/" "${_kms_confdir}/" _text "${_text}")
  string(REPLACE "/usr/share/doc/kmsdns/" "${CMAKE_INSTALL_FULL_DOCDIR}/" _text "${_text}")
  file(WRITE "${_kms_dist}/${_unit}" "${_text}")
  install(FILES "${_kms_dist}/${_unit}" DESTINATION "${_kms_unitdir}")
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             "${CMAKE_CURRENT_SOURCE_DIR}/dist/systemd/kmsd.service"
             "${CMAKE_CURRENT_SOURCE_DIR}/dist/systemd/kmsd.socket"
             "${CMAKE_CURRENT_SOURCE_DIR}/docs/kmsd.conf.example")

install(FILES dist/sysusers.d/kmsdns.conf DESTINATION "${_kms_sysusersdir}")

# The installed kmsd.conf is the documented example with one change: an
# unconfigured host publishes nothing.  With publish = yes and no domains,
# kmsd would publish into the domain of this host's FQDN (without a key every
# update fails, but it still goes looking for the zone's primary).
file(READ "${CMAKE_CURRENT_SOURCE_DIR}/docs/kmsd.conf.example" _conf)
set(_publish_off
"; Installed with publishing OFF: an unconfigured host must not publish
; itself.  Set domains (or target), key_file (or gss_tsig), then yes here
; (or run `kmsctl sdns`), and reload: systemctl reload kmsd.
publish = no")
string(REGEX REPLACE "\npublish = yes\n" "\n${_publish_off}\n" _conf_pkg "${_conf}")
if(_conf_pkg STREQUAL _conf)
  message(FATAL_ERROR "dist/install.cmake: no 'publish = yes' line in docs/kmsd.conf.example to turn off")
endif()
file(WRITE "${_kms_dist}/kmsd.conf" "${_conf_pkg}")
# A configuration file is the administrator's: a reinstall keeps it.
install(CODE "
  set(_conf \"\$ENV{DESTDIR}${_kms_confdir}/kmsd.conf\")
  if(EXISTS \"\${_conf}\")
    message(STATUS \"Kept (exists): \${_conf}\")
  else()
    # file(INSTALL) puts DESTDIR in front of an absolute DESTINATION itself.
    file(INSTALL \"${_kms_dist}/kmsd.conf\" DESTINATION \"${_kms_confdir}\"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()")

install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES dist/systemd/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/systemd)
# The reference BIND configuration (zones/README.md, named.conf and zone
# templates); the scripts that start a private named are test tools.
install(DIRECTORY zones/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/zones
        FILES_MATCHING PATTERN "README.md" PATTERN "*.in" PATTERN "*.zone")
