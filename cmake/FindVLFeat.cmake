# FindVLFeat: VLFeat's C library (Debian: libvlfeat-dev), which ships no CMake config.
# Defines VLFeat_FOUND, VLFeat_INCLUDE_DIR, VLFeat_LIBRARY and the imported target VLFeat::vl.
find_path(VLFeat_INCLUDE_DIR NAMES vl/dsift.h vl/generic.h)
find_library(VLFeat_LIBRARY NAMES vl vlfeat)
if(VLFeat_INCLUDE_DIR AND EXISTS "${VLFeat_INCLUDE_DIR}/vl/generic.h")
  file(STRINGS "${VLFeat_INCLUDE_DIR}/vl/generic.h" _vl_ver REGEX "^#define VL_VERSION_STRING")
  string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" VLFeat_VERSION "${_vl_ver}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(VLFeat REQUIRED_VARS VLFeat_LIBRARY VLFeat_INCLUDE_DIR
                                  VERSION_VAR VLFeat_VERSION)
if(VLFeat_FOUND AND NOT TARGET VLFeat::vl)
  add_library(VLFeat::vl UNKNOWN IMPORTED)
  set_target_properties(VLFeat::vl PROPERTIES
    IMPORTED_LOCATION "${VLFeat_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${VLFeat_INCLUDE_DIR}")
endif()
mark_as_advanced(VLFeat_INCLUDE_DIR VLFeat_LIBRARY)
