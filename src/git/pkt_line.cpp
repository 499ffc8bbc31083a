#include "git/pkt_line.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/file.h"

namespace zipllm::git {

Status PktReader::read_exact(uint8_t* p, size_t n, bool eof_ok, bool& eof) {
  eof = false;
  size_t done = 0;
  while (done < n) {
    if (m_pos == m_len) {
      if (m_buf.empty()) {
        m_buf.resize(1 << 16);
      }
      ssize_t r = ::read(m_fd, m_buf.data(), m_buf.size());
      if (r < 0) {
        if (errno == EINTR) {
          continue;
        }
        return os_error("cannot read", "the git pipe", errno);
      }
      if (r == 0) {
        if (done == 0 && eof_ok) {
          eof = true;
          return {};
        }
        return make_error(Errc::InvalidArgument, "pkt-line: unexpected end of input");
      }
      m_pos = 0;
      m_len = static_cast<size_t>(r);
    }
    size_t take = std::min(n - done, m_len - m_pos);
    std::memcpy(p + done, m_buf.data() + m_pos, take);
    m_pos += take;
    done += take;
  }
  return {};
}

// The next packet's length header: its payload size, or nullopt for a
// flush packet. With `eof_ok`, a clean end of input before the header is
// NotFound.
Result<std::optional<size_t>> PktReader::read_length(bool eof_ok) {
  uint8_t hdr[4];
  bool eof = false;
  TRY_STATUS(read_exact(hdr, 4, eof_ok, eof));
  if (eof) {
    return make_error(Errc::NotFound, "end of input");
  }
  size_t len = 0;
  for (uint8_t c : hdr) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) {
      return make_error(Errc::InvalidArgument, "pkt-line: bad length header");
    }
    len = len * 16 + static_cast<size_t>(d);
  }
  if (len == 0) {
    return std::optional<size_t>();
  }
  if (len < 4 || len - 4 > k_max_pkt_payload) {
    return make_error(Errc::InvalidArgument, "pkt-line: bad length " + std::to_string(len));
  }
  return std::optional<size_t>(len - 4);
}

Result<bool> PktReader::read_into(std::vector<uint8_t>& out, bool eof_ok) {
  auto len = TRY(read_length(eof_ok));
  if (!len) {
    return false;
  }
  size_t at = out.size();
  out.resize(at + *len);
  bool eof = false;
  TRY_STATUS(read_exact(out.data() + at, *len, false, eof));
  return true;
}

Result<bool> PktReader::append_packet(std::vector<uint8_t>& out) {
  return read_into(out, false);
}

Result<std::optional<std::vector<uint8_t>>> PktReader::read_packet() {
  std::vector<uint8_t> payload;
  if (!TRY(read_into(payload, true))) {
    return std::optional<std::vector<uint8_t>>();
  }
  return std::optional<std::vector<uint8_t>>(std::move(payload));
}

Result<std::vector<std::string>> PktReader::read_text_list() {
  std::vector<std::string> lines;
  while (true) {
    std::vector<uint8_t> payload;
    bool more = TRY(read_into(payload, /*eof_ok=*/lines.empty()));
    std::optional<std::vector<uint8_t>> pkt;
    if (more) {
      pkt = std::move(payload);
    }
    if (!pkt) {
      return lines;
    }
    std::string s(pkt->begin(), pkt->end());
    if (!s.empty() && s.back() == '\n') {
      s.pop_back();
    }
    lines.push_back(std::move(s));
  }
}

Status PktWriter::write_packet(const uint8_t* p, size_t n) {
  static const char* k_hex = "0123456789abcdef";
  size_t len = n + 4;
  uint8_t buf[4 + k_max_pkt_payload];
  buf[0] = static_cast<uint8_t>(k_hex[(len >> 12) & 15]);
  buf[1] = static_cast<uint8_t>(k_hex[(len >> 8) & 15]);
  buf[2] = static_cast<uint8_t>(k_hex[(len >> 4) & 15]);
  buf[3] = static_cast<uint8_t>(k_hex[len & 15]);
  std::memcpy(buf + 4, p, n);
  return write_all(m_fd, std::span<const uint8_t>(buf, len), "the git pipe");
}

Status PktWriter::write_text(const std::string& line) {
  std::string s = line + "\n";
  return write_packet(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

Status PktWriter::write_data(std::span<const uint8_t> data) {
  for (size_t off = 0; off < data.size(); off += k_max_pkt_payload) {
    TRY_STATUS(write_packet(data.data() + off, std::min(k_max_pkt_payload, data.size() - off)));
  }
  return {};
}

Status PktWriter::flush() {
  static const uint8_t k_flush[4] = {'0', '0', '0', '0'};
  return write_all(m_fd, k_flush, "the git pipe");
}

}  // namespace zipllm::git
