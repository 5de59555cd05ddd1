#include "cbuild/layer/compression.hpp"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cbuild::layer {

namespace {

struct NamedCompression {
  std::string_view name;
  Compression value;
};
constexpr NamedCompression k_names[] = {
    {"none", Compression::none},
    {"uncompressed", Compression::none},
    {"gzip", Compression::gzip},
    {"zstd", Compression::zstd},
};

unsigned thread_count(unsigned requested) {
  if (requested) return requested;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

/// Forwards to the caller's sink, hashing and counting what passes.
class DigestingOutput {
 public:
  explicit DigestingOutput(ByteSink& out) : m_out(out) {}
  Status write(const void* data, size_t size) {
    m_sha.update(data, size);
    m_size += size;
    return m_out.write(data, size);
  }
  CompressedBlob finish() { return {m_sha.finish(), m_size}; }

 private:
  ByteSink& m_out;
  Sha256 m_sha;
  uint64_t m_size = 0;
};

class PassThrough final : public Compressor {
 public:
  explicit PassThrough(ByteSink& out) : m_out(out) {}
  Status write(const void* data, size_t size) override { return m_out.write(data, size); }
  Result<CompressedBlob> finish() override { return m_out.finish(); }

 private:
  DigestingOutput m_out;
};

/// Deflates one chunk as a complete gzip member. Each worker keeps one z_stream and
/// resets it between chunks (deflateInit allocates ~256 KiB).
class GzipMember {
 public:
  explicit GzipMember(int level) {
    m_ok = deflateInit2(&m_z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK &&
           deflateInit2(&m_probe, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    m_level = level;
  }
  ~GzipMember() {
    deflateEnd(&m_z);
    deflateEnd(&m_probe);
  }
  GzipMember(const GzipMember&) = delete;
  GzipMember& operator=(const GzipMember&) = delete;

  Status compress(const std::string& in, std::string& out) {
    if (!m_ok) return make_error("gzip: cannot initialise zlib");
    deflateReset(&m_z);
    // Already-compressed data (random-looking everywhere we sample) is stored, not
    // searched for matches it cannot have: deflate would emit stored blocks anyway,
    // after spending most of its time. The choice depends only on the chunk's bytes.
    deflateParams(&m_z, incompressible(in) ? 0 : m_level, Z_DEFAULT_STRATEGY);
    out.resize(deflateBound(&m_z, in.size()) + 32);
    m_z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    m_z.avail_in = static_cast<uInt>(in.size());
    m_z.next_out = reinterpret_cast<Bytef*>(out.data());
    m_z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&m_z, Z_FINISH) != Z_STREAM_END) return make_error("gzip: deflate failed");
    out.resize(out.size() - m_z.avail_out);
    return {};
  }

 private:
  /// True when 16 KiB samples from the start, middle and end of `in` all fail to shrink
  /// by 2% at level 1.
  bool incompressible(const std::string& in) {
    constexpr size_t k_sample = 16 << 10;
    if (in.size() < 4 * k_sample) return false;
    unsigned char out[k_sample + 1024];
    for (size_t at : {size_t{0}, in.size() / 2 - k_sample / 2, in.size() - k_sample}) {
      deflateReset(&m_probe);
      m_probe.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + at));
      m_probe.avail_in = k_sample;
      m_probe.next_out = out;
      m_probe.avail_out = sizeof out;
      if (deflate(&m_probe, Z_FINISH) != Z_STREAM_END) return false;
      if (sizeof out - m_probe.avail_out < k_sample * 98 / 100) return false;
    }
    return true;
  }

  z_stream m_z{}, m_probe{};
  int m_level = 6;
  bool m_ok = false;
};

/// Gzip as a sequence of independently compressed 1 MiB members, compressed by a pool
/// of worker threads and written in order by the producer thread.
class ParallelGzip final : public Compressor {
 public:
  ParallelGzip(int level, unsigned threads, ByteSink& out)
      : m_level(level), m_out(out), m_own(std::make_unique<GzipMember>(level)) {
    if (threads > 1)
      for (unsigned i = 0; i < threads; ++i) m_workers.emplace_back([this] { work(); });
    m_input.reserve(k_gzip_chunk_size);
  }
  ~ParallelGzip() override { stop(); }

  Status write(const void* data, size_t size) override {
    auto* p = static_cast<const char*>(data);
    while (size > 0) {
      size_t take = std::min(size, k_gzip_chunk_size - m_input.size());
      m_input.append(p, take);
      p += take;
      size -= take;
      if (m_input.size() == k_gzip_chunk_size) TRY(submit());
    }
    return {};
  }

  Result<CompressedBlob> finish() override {
    if (!m_input.empty() || !m_any) TRY(submit());
    TRY(drain(0));
    stop();
    return m_out.finish();
  }

 private:
  struct Job {
    std::string input, output;
    bool taken = false, done = false;
    Status status;
  };

  Status submit() {
    m_any = true;
    auto job = std::make_shared<Job>();
    job->input.swap(m_input);
    m_input.reserve(k_gzip_chunk_size);
    if (m_workers.empty()) {
      TRY(m_own->compress(job->input, job->output));
      return m_out.write(job->output.data(), job->output.size());
    }
    {
      std::lock_guard lock(m_mutex);
      m_jobs.push_back(std::move(job));
    }
    m_work_cv.notify_one();
    return drain(4 * m_workers.size());
  }

  /// While the producer would wait for the oldest job, it compresses a queued one
  /// itself: no idle thread, and on a loaded machine one more time slice for the work.
  void help(std::unique_lock<std::mutex>& lock) {
    for (auto& j : m_jobs) {
      if (j->taken) continue;
      auto job = j;
      job->taken = true;
      lock.unlock();
      Status st = m_own->compress(job->input, job->output);
      job->input = std::string();
      lock.lock();
      job->status = std::move(st);
      job->done = true;
      return;
    }
    m_done_cv.wait(lock);
  }

  /// Writes finished jobs in order until at most `max_pending` remain queued.
  Status drain(size_t max_pending) {
    std::unique_lock lock(m_mutex);
    while (!m_jobs.empty()) {
      auto& front = m_jobs.front();
      if (!front->done) {
        if (m_jobs.size() <= max_pending) return {};
        while (!front->done) help(lock);
      }
      auto job = std::move(m_jobs.front());
      m_jobs.pop_front();
      lock.unlock();
      if (!job->status.ok()) return std::move(job->status).error();
      TRY(m_out.write(job->output.data(), job->output.size()));
      lock.lock();
    }
    return {};
  }

  void work() {
    GzipMember member(m_level);
    std::unique_lock lock(m_mutex);
    for (;;) {
      std::shared_ptr<Job> job;
      m_work_cv.wait(lock, [&] {
        if (m_stopping) return true;
        for (auto& j : m_jobs)
          if (!j->taken) return true;
        return false;
      });
      for (auto& j : m_jobs)
        if (!j->taken) {
          job = j;
          break;
        }
      if (!job) return;  // stopping and nothing left
      job->taken = true;
      lock.unlock();
      Status st = member.compress(job->input, job->output);
      job->input = std::string();
      lock.lock();
      job->status = std::move(st);
      job->done = true;
      m_done_cv.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard lock(m_mutex);
      m_stopping = true;
    }
    m_work_cv.notify_all();
    for (auto& t : m_workers) t.join();
    m_workers.clear();
  }

  int m_level;
  DigestingOutput m_out;
  std::unique_ptr<GzipMember> m_own;  ///< the producer's compressor (inline or helping)
  std::string m_input;
  bool m_any = false;
  std::mutex m_mutex;
  std::condition_variable m_work_cv, m_done_cv;
  std::deque<std::shared_ptr<Job>> m_jobs;
  bool m_stopping = false;
  std::vector<std::thread> m_workers;
};

class Zstd final : public Compressor {
 public:
  Zstd(ByteSink& out) : m_out(out), m_buffer(ZSTD_CStreamOutSize(), '\0') {}
  ~Zstd() override { ZSTD_freeCCtx(m_ctx); }

  Status init(int level, unsigned threads) {
    m_ctx = ZSTD_createCCtx();
    if (!m_ctx) return make_error("zstd: cannot create a compression context");
    TRY(check(ZSTD_CCtx_setParameter(m_ctx, ZSTD_c_compressionLevel, level)));
    TRY(check(ZSTD_CCtx_setParameter(m_ctx, ZSTD_c_checksumFlag, 1)));
    // nbWorkers >= 1 even on one CPU: the output then never depends on the count.
    TRY(check(ZSTD_CCtx_setParameter(m_ctx, ZSTD_c_nbWorkers, static_cast<int>(threads))));
    return {};
  }

  Status write(const void* data, size_t size) override {
    ZSTD_inBuffer in{data, size, 0};
    while (in.pos < in.size) TRY(step(in, ZSTD_e_continue));
    return {};
  }

  Result<CompressedBlob> finish() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (TRY(step(in, ZSTD_e_end)) != 0) {
    }
    return m_out.finish();
  }

 private:
  static Status check(size_t rc) {
    if (ZSTD_isError(rc)) return make_error("zstd: {}", ZSTD_getErrorName(rc));
    return {};
  }

  Result<size_t> step(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    ZSTD_outBuffer out{m_buffer.data(), m_buffer.size(), 0};
    size_t rc = ZSTD_compressStream2(m_ctx, &out, &in, mode);
    TRY(check(rc));
    if (out.pos) TRY(m_out.write(m_buffer.data(), out.pos));
    return rc;
  }

  DigestingOutput m_out;
  std::string m_buffer;
  ZSTD_CCtx* m_ctx = nullptr;
};

}  // namespace

std::string_view compression_name(Compression c) {
  for (const auto& n : k_names)
    if (n.value == c) return n.name;
  return "none";
}

Result<Compression> parse_compression(std::string_view text) {
  for (const auto& n : k_names)
    if (n.name == text) return n.value;
  return make_error(ExitCode::usage, "unknown compression `{}` (want gzip, zstd or none)", text);
}

Result<std::unique_ptr<Compressor>> Compressor::create(const CompressionOptions& options, ByteSink& out) {
  unsigned threads = thread_count(options.threads);
  switch (options.compression) {
    case Compression::none:
      return std::unique_ptr<Compressor>(std::make_unique<PassThrough>(out));
    case Compression::gzip: {
      int level = options.level ? options.level : k_default_gzip_level;
      if (level < 1 || level > 9) return make_error(ExitCode::usage, "gzip level {} not in 1..9", level);
      return std::unique_ptr<Compressor>(std::make_unique<ParallelGzip>(level, threads, out));
    }
    case Compression::zstd: {
      int level = options.level ? options.level : k_default_zstd_level;
      if (level < 1 || level > ZSTD_maxCLevel())
        return make_error(ExitCode::usage, "zstd level {} not in 1..{}", level, ZSTD_maxCLevel());
      auto z = std::make_unique<Zstd>(out);
      TRY(z->init(level, threads));
      return std::unique_ptr<Compressor>(std::move(z));
    }
  }
  return make_error("unknown compression");
}

}  // namespace cbuild::layer
