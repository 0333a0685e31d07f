// Errors carry what went wrong in words a user can act on: shapes, file names, offsets.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace mc {

// Base of every matcomp exception.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Shapes that do not fit together (the message names the shapes).
class ShapeError : public Error {
 public:
  using Error::Error;
};

// Bad values or settings given by the caller (NaN input, rank too large, bad flag...).
class ValueError : public Error {
 public:
  using Error::Error;
};

// A file could not be read or written, or its contents are malformed.
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace mc

// MC_CHECK(cond, ErrorType, "words " << value) throws ErrorType with the streamed message.
#define MC_CHECK(cond, ErrorType, message)                  \
  do {                                                      \
    if (!(cond)) {                                          \
      std::ostringstream mc_check_stream_;                  \
      mc_check_stream_ << message;                          \
      throw ErrorType(mc_check_stream_.str());              \
    }                                                       \
  } while (0)
