// The module types layers/ registers with module_factory.h: the reference models as root
// types (Cifar10Cnn, PtbLstm: built whole from their architecture config) and DenseWeight.
// Called by the factory itself before its first lookup.
#pragma once

namespace mc {

void register_builtin_module_types();

}  // namespace mc
