// Every encoding kind's model-file codec (internal): one include per kind of bow::Encoding.
#pragma once

#include "bag_of_words_codec.h"
#include "fisher_vector_codec.h"
#include "vlad_codec.h"
