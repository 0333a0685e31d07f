// The module types compression/ adds to the module factory (layers/modules/module_factory.h):
// "CompressedWeight" and "PruningScore". Idempotent. apply_compression, the method registry
// and the export loader call it, so the registration survives a static link; a program that
// only loads checkpoints of compressed models calls it once itself.
#pragma once

namespace mc {

void register_compression_module_types();

}  // namespace mc
