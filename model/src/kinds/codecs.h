// Every kind's model-file codec (internal): one include per kind of bow::Encoding and decompose::Head.
#pragma once

#include "bag_of_words_codec.h"
#include "fisher_vector_codec.h"
#include "vlad_codec.h"
#include "kernel_svm_codec.h"
#include "linear_svm_codec.h"
#include "network_codec.h"
#include "explicit_map_svm_codec.h"
