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
/// The text of the image and dense SIFT options that every encoding's canonical text starts with
/// ("image.max_side=...;dsift.bin_sizes=...;...;dsift.fast=..."), round-trip numbers.
std::string canonical_image_dsift_options(const ImageOptions& image, const DsiftOptions& dsift);
/// Text naming every option that changes a histogram (image cap, dense SIFT, mapping, pooling),
/// with round-trip number formatting; equal options give equal text.
std::string canonical_encoding_options(const PipelineOptions& options);
/// Same plus the k-means options (what changes a trained codebook).
std::string canonical_codebook_options(const PipelineOptions& options);
/// Digest of a codebook's size and centre bytes.
core::Digest codebook_digest(const Codebook& codebook);

}  // namespace bowlrp::bow
