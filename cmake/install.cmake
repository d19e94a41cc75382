# Installation layout (cmake --install honours DESTDIR and --prefix).
# Man pages are written in scdoc (docs/man/*.scd) and rendered at build time.
find_program(SCDOC scdoc REQUIRED)

set(JW_MAN_PAGES jobwatchd.8 jobwatchd.conf.5)
set(JW_MAN_OUTPUTS)
foreach(page ${JW_MAN_PAGES})
  set(src ${CMAKE_SOURCE_DIR}/docs/man/${page}.scd)
  set(out ${CMAKE_BINARY_DIR}/man/${page})
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/man.sh ${SCDOC} ${src} ${out}
    DEPENDS ${src} ${CMAKE_SOURCE_DIR}/scripts/man.sh VERBATIM)
  list(APPEND JW_MAN_OUTPUTS ${out})
  string(REGEX MATCH "[0-9]$" section ${page})
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man ALL DEPENDS ${JW_MAN_OUTPUTS})

# systemd units and the journal catalog go where systemd looks for them
# under the prefix (/usr/lib/systemd/... for prefix /usr).
set(JW_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING "systemd unit directory (relative to prefix, or absolute)")
set(JW_CATALOG_DIR lib/systemd/catalog CACHE STRING "journal catalog directory (relative to prefix)")
# The units name /usr/bin/jobwatchd; installed copies point at the real
# bindir, which is only known at install time (cmake --install --prefix).
install(CODE "
  foreach(unit jobwatchd.service jobwatchd@.service)
    file(READ \"${CMAKE_SOURCE_DIR}/systemd/\${unit}\" text)
    string(REPLACE \"/usr/bin/jobwatchd\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/jobwatchd\" text \"\${text}\")
    if(IS_ABSOLUTE \"${JW_SYSTEMD_UNIT_DIR}\")
      set(dir \"\$ENV{DESTDIR}${JW_SYSTEMD_UNIT_DIR}\")
    else()
      set(dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${JW_SYSTEMD_UNIT_DIR}\")
    endif()
    file(MAKE_DIRECTORY \"\${dir}\")
    message(STATUS \"Installing: \${dir}/\${unit}\")
    file(WRITE \"\${dir}/\${unit}\" \"\${text}\")
  endforeach()
")
install(FILES systemd/jobwatchd.catalog DESTINATION ${JW_CATALOG_DIR})
install(FILES scripts/jobwatchd-completion.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME jobwatchd)

# The example configuration, never overwriting an operator's file.  The
# /etc path is absolute on purpose (systemd units expect it), under DESTDIR.
# Mode 0644: the units run as a dynamic user, which must read it; it holds no
# secret by design (secrets are files in credentials/, mode 0700, that reach
# the service only through LoadCredential=).
set(JW_SYSCONF_DIR /etc/jobwatchd CACHE PATH "configuration directory")
install(CODE "
  set(dest \"\$ENV{DESTDIR}${JW_SYSCONF_DIR}\")
  file(MAKE_DIRECTORY \"\${dest}\")
  # LoadCredential= in the units loads this directory; it must exist.
  if(NOT EXISTS \"\${dest}/credentials\")
    file(MAKE_DIRECTORY \"\${dest}/credentials\")
    file(CHMOD \"\${dest}/credentials\" DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
  endif()
  if(EXISTS \"\${dest}/jobwatchd.conf\")
    message(STATUS \"Keeping existing: \${dest}/jobwatchd.conf\")
    # An older install wrote it 0640: the dynamic user could not read it.
    execute_process(COMMAND stat -c %a \"\${dest}/jobwatchd.conf\" OUTPUT_VARIABLE mode OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(mode MATCHES \"[0-3]\$\")
      message(WARNING \"\${dest}/jobwatchd.conf is mode \${mode}: the service (a dynamic user) cannot read it; chmod 644 it (it holds no secret: those go in \${dest}/credentials/)\")
    endif()
  else()
    message(STATUS \"Installing: \${dest}/jobwatchd.conf\")
    file(COPY \"${CMAKE_SOURCE_DIR}/config/jobwatchd.conf\" DESTINATION \"\${dest}\"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()
")

# Installing onto the running system (no DESTDIR) does what a package's
# maintainer scripts would: systemd learns the new units, and journalctl -x
# learns the catalog.  Into a DESTDIR, or where systemd is not PID 1, nothing.
install(CODE "
  if(\"\$ENV{DESTDIR}\" STREQUAL \"\" AND EXISTS /run/systemd/system)
    message(STATUS \"Running: systemctl daemon-reload; journalctl --update-catalog\")
    execute_process(COMMAND systemctl daemon-reload)
    execute_process(COMMAND journalctl --update-catalog)
  endif()
")
