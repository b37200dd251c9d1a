# ctest driver of `python_consumer`: install the build tree to a scratch prefix, then run the README
# example (python/examples/readme_example.py) from a clean folder with only
# PYTHONPATH=<prefix>/<PYTHON_DIR>, and check that it imported the installed package, that the
# installed module found the installed libbowlrp_*.so through its RPATH, and what it wrote.
# Inputs: BUILD_DIR, SOURCE_DIR, WORK_DIR, PYTHON (interpreter), PYTHON_DIR (e.g. lib/python3/dist-packages).
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
set(site "${WORK_DIR}/prefix/${PYTHON_DIR}")
file(GLOB module "${site}/bowlrp/_bowlrp*.so")
if(NOT module)
  message(FATAL_ERROR "no compiled module under ${site}/bowlrp after cmake --install")
endif()
foreach(f __init__.py render.py estimator.py py.typed _bowlrp.pyi)
  if(NOT EXISTS "${site}/bowlrp/${f}")
    message(FATAL_ERROR "${site}/bowlrp/${f} was not installed")
  endif()
endforeach()

set(run "${WORK_DIR}/run")
file(MAKE_DIRECTORY "${run}")
set(env ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH --unset=PYTHONHOME "PYTHONPATH=${site}")
# Where the package and its libraries came from, after training a network head and writing a PNG,
# so that the libraries loaded on first use (libbowlrp_nn_torch.so, libbowlrp_imgcodecs.so) are
# among them.
execute_process(
  COMMAND ${env} ${PYTHON} -c
    "import bowlrp; d = [bowlrp.datasets.generate_shape(i, classes=['circle', 'square'], images_per_class=4, width=48, height=48, seed=11) for i in range(8)]; m = bowlrp.fit([x['image'] for x in d], [x['class_name'] for x in d], words=8, head='mlp', hidden=(4,), epochs=2, seed=1); bowlrp.write_png('h.png', bowlrp.render.heatmap(m.explain(d[0]['image']))); print(bowlrp.__file__); print('\\n'.join(sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libbowlrp_' in l})))"
  WORKING_DIRECTORY "${run}" RESULT_VARIABLE rc OUTPUT_VARIABLE where ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "importing the installed package and training a network head failed (${rc}):\n${err}")
endif()
foreach(loaded libbowlrp_nn_torch.so libbowlrp_imgcodecs.so)
  string(FIND "${where}" "/${loaded}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "training a network head and writing a PNG did not load ${loaded}:\n${where}")
  endif()
endforeach()
string(STRIP "${where}" where)
string(REPLACE "\n" ";" where "${where}")
foreach(line ${where})
  file(REAL_PATH "${line}" real)
  file(REAL_PATH "${WORK_DIR}/prefix" prefix_real)
  string(FIND "${real}" "${prefix_real}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "the installed package loaded ${line}, outside the prefix ${WORK_DIR}/prefix")
  endif()
endforeach()

# The README's Python example is this file, verbatim, and at most 15 lines.
file(READ "${SOURCE_DIR}/README.md" readme)
file(READ "${SOURCE_DIR}/python/examples/readme_example.py" example)
string(FIND "${readme}" "${example}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md no longer holds python/examples/readme_example.py verbatim: update one or the other")
endif()
file(STRINGS "${SOURCE_DIR}/python/examples/readme_example.py" example_lines)
list(LENGTH example_lines n)
if(n GREATER 15)
  message(FATAL_ERROR "the README's Python example has ${n} lines: keep it within 15")
endif()
execute_process(COMMAND ${env} ${PYTHON} "${SOURCE_DIR}/python/examples/readme_example.py"
                WORKING_DIRECTORY "${run}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "readme_example.py:\n${out}${err}")
if(rc)
  message(FATAL_ERROR "the README example failed (${rc})")
endif()
if(NOT out MATCHES "AOPC lrp [0-9.-]+, random [0-9.-]+")
  message(FATAL_ERROR "the README example did not print its AOPC line")
endif()
if(NOT EXISTS "${run}/heatmap.png")
  message(FATAL_ERROR "the README example wrote no heatmap.png")
endif()
