// The fingerprint of a Bag-of-Words pipeline: the canonical text of every option that changes a
// histogram (and, for training, a codebook), and the digest of a codebook's bytes. Equal options give
// equal text (round-trip number formatting), so equal pipelines have equal fingerprints.
#pragma once

#include <bowlrp/bow/codebook.h>
#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/core/digest.h>

#include <string>

namespace bowlrp::bow {

struct PipelineOptions;
/// Text naming every option that changes a histogram (image cap, dense SIFT, mapping, pooling):
/// core::record_text of PipelineOptions::schema(), "image.max_side=500;dsift.bin_sizes=4,6,8,10,;...";
/// equal options give equal text.
std::string canonical_encoding_options(const PipelineOptions& options);
/// Same plus the k-means options (what changes a trained codebook).
std::string canonical_codebook_options(const PipelineOptions& options);
/// Digest of a codebook's size and centre bytes.
core::Digest codebook_digest(const Codebook& codebook);

}  // namespace bowlrp::bow
