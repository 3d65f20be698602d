// The gateway's configuration (`fnjail.toml`): plain data, loaded and checked here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace fnjail::gateway {

// Every problem found, one `file:line:col: error: message` per entry.
struct ConfigError {
  std::vector<std::string> messages;
};
template <class T>
using ConfigResult = tl::expected<T, ConfigError>;

struct ListenAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
};

struct Config {
  std::string path;  // the file it was loaded from
  std::vector<ListenAddress> listen;
};

}  // namespace fnjail::gateway
