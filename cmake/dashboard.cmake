# The web dashboard (dashboard/: Vite, cytoscape.js, uPlot), built with npm into
# ${CMAKE_BINARY_DIR}/dashboard, where straitd finds it (beside bin/). npm ci runs again only when
# package.json or package-lock.json change; the build again when a source file does.
find_program(STRAIT_NPM npm)
if(NOT STRAIT_NPM)
  message(FATAL_ERROR "npm was not found: scripts/install-deps.sh installs Node.js and npm "
                      "(or configure with -DSTRAIT_DASHBOARD=OFF to build without the dashboard)")
endif()
set(STRAIT_DASHBOARD_SRC ${CMAKE_SOURCE_DIR}/dashboard)
set(STRAIT_DASHBOARD_OUT ${CMAKE_BINARY_DIR}/dashboard)
set(STRAIT_DASHBOARD_STAMP ${STRAIT_DASHBOARD_SRC}/node_modules/.package-lock.json)
file(GLOB_RECURSE STRAIT_DASHBOARD_SOURCES CONFIGURE_DEPENDS
  ${STRAIT_DASHBOARD_SRC}/src/*
  ${STRAIT_DASHBOARD_SRC}/public/*)
add_custom_command(
  OUTPUT ${STRAIT_DASHBOARD_STAMP}
  COMMAND ${STRAIT_NPM} ci --no-audit --no-fund --loglevel=error
  DEPENDS ${STRAIT_DASHBOARD_SRC}/package.json ${STRAIT_DASHBOARD_SRC}/package-lock.json
  WORKING_DIRECTORY ${STRAIT_DASHBOARD_SRC}
  COMMENT "dashboard: npm ci"
  VERBATIM)
add_custom_command(
  OUTPUT ${STRAIT_DASHBOARD_OUT}/index.html
  COMMAND ${CMAKE_COMMAND} -E env STRAIT_DASHBOARD_OUT=${STRAIT_DASHBOARD_OUT}
          ${STRAIT_NPM} run build --silent -- --logLevel warn
  DEPENDS ${STRAIT_DASHBOARD_STAMP} ${STRAIT_DASHBOARD_SOURCES}
          ${STRAIT_DASHBOARD_SRC}/index.html ${STRAIT_DASHBOARD_SRC}/vite.config.js
  WORKING_DIRECTORY ${STRAIT_DASHBOARD_SRC}
  COMMENT "dashboard: vite build"
  VERBATIM)
add_custom_target(dashboard ALL DEPENDS ${STRAIT_DASHBOARD_OUT}/index.html)
