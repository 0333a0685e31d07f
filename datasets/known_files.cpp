#include "matcomp/datasets/known_files.h"

namespace mc::data {

namespace {
constexpr KnownFile kFiles[] = {
    {"cifar10", "data_batch_1.bin", 30730000, "5dd7e06a14cb22eb9f671a540d1b7c25",
     "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5", 0xb3220c1f},
    {"cifar10", "data_batch_2.bin", 30730000, "5ea93a67294ea407fff1d09f752e9692",
     "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed", 0xc439a348},
    {"cifar10", "data_batch_3.bin", 30730000, "942cd6a4bcdd0dd3c604fbe906cb4421",
     "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67", 0x8c6f54f0},
    {"cifar10", "data_batch_4.bin", 30730000, "ae636b3ba5c66a11e91e8cb52e771fcb",
     "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48", 0x6a83637e},
    {"cifar10", "data_batch_5.bin", 30730000, "53f37980c15c3d472c316c40844f3f0d",
     "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add", 0x2f355afd},
    {"cifar10", "test_batch.bin", 30730000, "803d5f7f4d78ea53de84dbe85f74fb6d",
     "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b", 0x19777d49},
    {"ptb", "ptb.train.txt", 5101618, "f26c4b92c5fdc7b3f8c7cdcb991d8420",
     "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf", 0xc79210ab},
    {"ptb", "ptb.valid.txt", 399782, "aa0affc06ff7c36e977d7cd49e3839bf",
     "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2", 0x8e1e8945},
    {"ptb", "ptb.test.txt", 449945, "8b80168b89c18661a38ef683c0dc3721",
     "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0", 0xda938aea},
};
}  // namespace

std::span<const KnownFile> known_files() { return kFiles; }

const KnownFile* find_known_file(std::string_view name) {
  for (const KnownFile& f : kFiles)
    if (f.name == name) return &f;
  return nullptr;
}

const KnownFile* find_known_content(std::string_view dataset, uint64_t bytes, uint32_t crc32) {
  for (const KnownFile& f : kFiles)
    if (f.dataset == dataset && f.bytes == bytes && f.crc32 == crc32) return &f;
  return nullptr;
}

}  // namespace mc::data
