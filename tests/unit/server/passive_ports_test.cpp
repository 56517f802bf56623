#include <catch2/catch.hpp>

#include "server/server_state.hpp"

using ferry::PassivePorts;

TEST_CASE("kept passive listeners hold at most a quarter of the range", "[passive_ports]") {
  PassivePorts ports(61000, 61039);  // 40 ports: 10 may be kept
  for (int i = 0; i < 10; ++i) REQUIRE(ports.reserve_kept());
  CHECK_FALSE(ports.reserve_kept());
  ports.release_kept();
  CHECK(ports.reserve_kept());
  CHECK_FALSE(ports.reserve_kept());
}

TEST_CASE("a range of a few ports still lets one listener be kept", "[passive_ports]") {
  PassivePorts ports(61000, 61002);
  CHECK(ports.reserve_kept());
  CHECK_FALSE(ports.reserve_kept());
}
