// What the next data connection will be: PASV/EPSV leave a passive listener waiting for
// the client, PORT/EPRT the client's address to connect to (RFC 959: set up for the next
// transfer command). One transfer command uses it, whatever its outcome: the session
// forgets the plan after every command of the table's uses_data column, so a refused
// transfer never leaves a listener open. A passive transfer's listener may be kept for
// the session's next command, when that is PASV or EPSV (see Session::dispatch).
#pragma once

#include <asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <utility>

#include "server/data_channel.hpp"

namespace ferry {

class DataPlan {
 public:
  bool empty() const noexcept { return !passive_ && !active_; }
  void forget() noexcept {
    passive_.reset();  // its port goes back to the range
    active_.reset();
  }
  void listen(std::unique_ptr<PassiveListener> listener) noexcept {
    forget();
    passive_ = std::move(listener);
  }
  void connect_to(const asio::ip::tcp::endpoint& target) noexcept {
    forget();
    active_ = target;
  }
  // The plan, taken by the transfer that opens its data connection.
  std::unique_ptr<PassiveListener> take_passive() noexcept { return std::move(passive_); }
  std::optional<asio::ip::tcp::endpoint> take_active() noexcept { return std::exchange(active_, std::nullopt); }

  // The listener of the transfer just done, for a PASV or EPSV that follows: a client
  // fetching many files then costs no socket, bind, listen and close per file.
  void keep_listener(std::unique_ptr<PassiveListener> listener) noexcept { kept_ = std::move(listener); }
  std::unique_ptr<PassiveListener> take_kept() noexcept { return std::move(kept_); }
  void drop_kept() noexcept { kept_.reset(); }

 private:
  std::unique_ptr<PassiveListener> passive_;
  std::unique_ptr<PassiveListener> kept_;
  std::optional<asio::ip::tcp::endpoint> active_;
};

}  // namespace ferry
