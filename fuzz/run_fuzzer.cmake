# Runs a libFuzzer binary for MAX_TOTAL_TIME seconds over a fresh copy of SEED_CORPUS in WORK_DIR.
# Usage: cmake -DFUZZER=... -DSEED_CORPUS=... -DWORK_DIR=... -DMAX_TOTAL_TIME=20 -P run_fuzzer.cmake
foreach(var FUZZER SEED_CORPUS WORK_DIR MAX_TOTAL_TIME)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: ${var} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR}/corpus)
file(MAKE_DIRECTORY ${WORK_DIR}/artifacts)
file(COPY ${SEED_CORPUS}/ DESTINATION ${WORK_DIR}/corpus)

execute_process(
  COMMAND ${FUZZER} -max_total_time=${MAX_TOTAL_TIME} -timeout=5 -print_final_stats=1
          -artifact_prefix=${WORK_DIR}/artifacts/ ${WORK_DIR}/corpus
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (exit ${result}); reproducers are in ${WORK_DIR}/artifacts")
endif()
