# FindLibSVM: libsvm (Debian: libsvm-dev, header at libsvm/svm.h), which ships no CMake config.
# Defines LibSVM_FOUND, LibSVM_INCLUDE_DIR, LibSVM_LIBRARY, LibSVM_VERSION and the target LibSVM::svm.
find_path(LibSVM_INCLUDE_DIR NAMES libsvm/svm.h)
find_library(LibSVM_LIBRARY NAMES svm)
if(LibSVM_INCLUDE_DIR)
  file(STRINGS "${LibSVM_INCLUDE_DIR}/libsvm/svm.h" _svm_ver REGEX "^#define LIBSVM_VERSION")
  string(REGEX REPLACE ".*LIBSVM_VERSION[ \t]+([0-9]+).*" "\\1" LibSVM_VERSION "${_svm_ver}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibSVM REQUIRED_VARS LibSVM_LIBRARY LibSVM_INCLUDE_DIR
                                  VERSION_VAR LibSVM_VERSION)
if(LibSVM_FOUND AND NOT TARGET LibSVM::svm)
  add_library(LibSVM::svm UNKNOWN IMPORTED)
  set_target_properties(LibSVM::svm PROPERTIES
    IMPORTED_LOCATION "${LibSVM_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibSVM_INCLUDE_DIR}")
endif()
mark_as_advanced(LibSVM_INCLUDE_DIR LibSVM_LIBRARY)
