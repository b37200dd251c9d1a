// The single Boost.Test binary of bowlrp; suites live in test_<module>.cpp.
#define BOOST_TEST_MODULE bowlrp
#include <boost/test/unit_test.hpp>
