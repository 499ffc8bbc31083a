// pkt-line framing (git's protocol-common format), over file descriptors.
//
//   pkt   := len:4 hex digits (including these 4) payload   (len 0005..65520)
//   flush := "0000"
// An empty data packet ("0004") is never sent: git reads it as the end of
// the content. Incoming lengths are validated before anything is allocated.
// Not thread-safe; one reader and one writer per process.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace zipllm::git {

inline constexpr size_t k_max_pkt_payload = 65516;

class PktReader {
 public:
  explicit PktReader(int fd) : m_fd(fd) {}
  // Next packet: nullopt for a flush packet. NotFound at a clean EOF before
  // any byte of a packet.
  Result<std::optional<std::vector<uint8_t>>> read_packet();
  // Appends the next packet's payload to `out`; false for a flush packet.
  // (No allocation per packet: the content path of a multi-GB file.)
  Result<bool> append_packet(std::vector<uint8_t>& out);
  // Text packets until flush, without their trailing "\n". NotFound only
  // for a clean end of input before the list's first packet; an end
  // inside the list is a framing error (InvalidArgument).
  Result<std::vector<std::string>> read_text_list();

 private:
  Status read_exact(uint8_t* p, size_t n, bool eof_ok, bool& eof);
  Result<std::optional<size_t>> read_length(bool eof_ok);
  Result<bool> read_into(std::vector<uint8_t>& out, bool eof_ok);
  int m_fd;
  std::vector<uint8_t> m_buf;
  size_t m_pos = 0;
  size_t m_len = 0;
};

class PktWriter {
 public:
  explicit PktWriter(int fd) : m_fd(fd) {}
  Status write_text(const std::string& line);        // appends "\n"
  Status write_data(std::span<const uint8_t> data);  // split into packets; nothing for empty
  Status flush();                                    // "0000"

 private:
  Status write_packet(const uint8_t* p, size_t n);
  int m_fd;
};

}  // namespace zipllm::git
