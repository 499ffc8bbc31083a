#include "hub/upload_gate.h"

namespace zipllm::hub {

UploadGate::Slot::~Slot() {
  if (m_gate) {
    m_gate->release();
  }
}

UploadGate::Slot UploadGate::acquire() {
  std::unique_lock lock(m_mutex);
  if (m_stopped) {
    return Slot(nullptr);
  }
  if (m_active < m_limits.active) {
    ++m_active;
    return Slot(this);
  }
  if (m_waiting >= m_limits.waiting) {
    return Slot(nullptr);
  }
  ++m_waiting;
  bool got =
      m_cv.wait_for(lock, m_limits.wait, [&] { return m_stopped || m_active < m_limits.active; });
  --m_waiting;
  if (!got || m_stopped) {
    return Slot(nullptr);
  }
  ++m_active;
  return Slot(this);
}

void UploadGate::release() {
  {
    std::lock_guard lock(m_mutex);
    --m_active;
  }
  m_cv.notify_one();
}

void UploadGate::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopped = true;
  }
  m_cv.notify_all();
}

}  // namespace zipllm::hub
