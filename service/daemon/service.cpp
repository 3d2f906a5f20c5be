#include "daemon/service.h"

#include <sstream>

#include "core/kubeconfig.h"
#include "core/quantity.h"
#include "daemon/log.h"
#include "host/cgroup_fs.h"
#include "host/cgroup_watcher.h"
#include "kube/pod_watch.h"

#include <sys/eventfd.h>
#include <unistd.h>
#include "host/limit_writers.h"
#include "daemon/io_sampler.h"
#include "daemon/pod_fetcher.h"

namespace iopslimit::daemon {

using core::makeError;

namespace {
double unixSeconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

struct Service::Engine {
    std::unique_ptr<core::Config> cfg;
    std::vector<host::BlockDevice> devices;
    std::unique_ptr<host::SystemdManager> systemd;
    std::unique_ptr<host::LimitWriter> writer;
    std::string backend;  // "systemd" | "cgroupfs"
    kube::CurlHttpGetter http;
    std::unique_ptr<kube::KubeletPodSource> kubelet;
    std::unique_ptr<kube::ApiServerPodSource> apiserver;
    std::unique_ptr<Reconciler> rec;
    std::unique_ptr<PodFetcher> fetcher;  // uses rec and the sources: declared after them
    std::unique_ptr<host::CgroupWatcher> watcher;
    bool unitsWatched = false;
    std::unique_ptr<kube::PodWatch> podWatch;  // declared last: stopped first
};

Service::Service(core::Environment startupEnv, std::string hostname, std::vector<std::string> envFiles,
                 sdbus::IConnection* systemdBus)
    : startupEnv_(std::move(startupEnv)), hostname_(std::move(hostname)), envFiles_(std::move(envFiles)),
      bus_(systemdBus) {
    wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    fetchFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    telemetry_.startTime = unixSeconds();
}

Service::~Service() {
    engine_.reset();  // joins the watch thread before the eventfd goes
    if (wakeFd_ >= 0) ::close(wakeFd_);
    if (fetchFd_ >= 0) ::close(fetchFd_);
}

const core::Config& Service::config() const { return *engine_->cfg; }
const std::vector<host::BlockDevice>& Service::devices() const { return engine_->devices; }
const host::CgroupSetup& Service::cgroups() const { return engine_->rec->setup(); }
std::string Service::backend() const { return engine_->backend; }

core::Result<std::unique_ptr<Service::Engine>> Service::build(const core::Environment& env) {
    auto e = std::make_unique<Engine>();
    auto cfg = core::parseConfig(env, hostname_);
    if (!cfg) return makeError("Invalid configuration: " + cfg.error().message);
    e->cfg = std::make_unique<core::Config>(std::move(cfg).value());
    if (e->cfg->apiServer.server.empty() && !e->cfg->kubeconfigPath.empty()) {
        // The API server from a kubeconfig, e.g. the kubelet's own (client certificate included).
        const std::string& path = e->cfg->kubeconfigPath;
        auto text = host::readFile(path);
        if (!text) return makeError("Invalid configuration: KUBECONFIG=" + path + ": " + text.error().message);
        auto kc = core::parseKubeconfig(*text, path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/')));
        if (!kc) return makeError("Invalid configuration: KUBECONFIG=" + path + ": " + kc.error().message);
        auto& a = e->cfg->apiServer;
        a.server = kc->server;
        a.caPath = kc->caPath;
        a.caPem = kc->caPem;
        a.clientCertPath = kc->clientCertPath;
        a.clientCertPem = kc->clientCertPem;
        a.clientKeyPath = kc->clientKeyPath;
        a.clientKeyPem = kc->clientKeyPem;
        a.tokenPath = kc->tokenPath;
        a.token = kc->token;
        a.skipVerify = kc->skipVerify;
    }
    const core::Config& c = *e->cfg;

    auto devices = host::resolveDataMounts(c.dataMounts, c.procRoot, c.sysRoot);
    if (!devices) return makeError("Failed to resolve DATA_MOUNT: " + devices.error().message);
    e->devices = std::move(devices).value();
    auto setup = host::detectCgroups(c);
    if (!setup) return makeError("Failed to detect cgroups: " + setup.error().message);

    auto raw = host::makeRawWriter(setup->version, setup->hierarchy);
    bool systemdPossible = setup->version == core::CgroupVersion::V2 &&
                           setup->layout.driver == core::CgroupDriver::Systemd && bus_ != nullptr;
    if (c.backend == core::Backend::Systemd && !systemdPossible)
        return makeError(std::string("LIMIT_BACKEND=systemd needs cgroup v2, the systemd cgroup driver and the system bus") +
                         (setup->version == core::CgroupVersion::V1 ? " (systemd writes no IOPS limits on cgroup v1)" : ""));
    if (c.backend != core::Backend::Cgroupfs && systemdPossible) {
        auto mgr = std::make_unique<host::SdbusSystemdManager>(*bus_);
        if (mgr->available()) {
            std::map<core::DevNum, std::string> paths;
            for (const auto& d : e->devices) paths[d.dev] = c.devRoot + "/" + d.name;
            e->systemd = std::move(mgr);
            e->writer = std::make_unique<host::SystemdUnitWriter>(*e->systemd, std::move(raw), std::move(paths));
            e->backend = "systemd";
        } else if (c.backend == core::Backend::Systemd) {
            return makeError("LIMIT_BACKEND=systemd but org.freedesktop.systemd1 does not answer on the system bus");
        }
    }
    if (!e->writer) {
        e->writer = std::move(raw);
        e->backend = "cgroupfs";
    }
    e->kubelet = std::make_unique<kube::KubeletPodSource>(c, e->http);
    if (!c.apiServer.server.empty()) e->apiserver = std::make_unique<kube::ApiServerPodSource>(c, e->http);
    e->rec = std::make_unique<Reconciler>(c, std::move(setup).value(), e->devices, *e->writer, e->kubelet.get(),
                                          e->apiserver.get());
    if (watchEnabled_) {
        int fd = fetchFd_;
        Reconciler* rec = e->rec.get();
        e->fetcher = std::make_unique<PodFetcher>([rec] { return rec->fetch(); }, [fd] {
            uint64_t one = 1;
            [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
        });
        PodFetcher* f = e->fetcher.get();
        e->kubelet->setAbort([f] { return f->abortRequested(); });
        if (e->apiserver) e->apiserver->setAbort([f] { return f->abortRequested(); });
    }
    if (watchEnabled_ && !c.apiServer.server.empty()) {
        int fd = wakeFd_;
        e->podWatch = std::make_unique<kube::PodWatch>(c, [fd] {
            uint64_t one = 1;
            [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
        });
    }
    return e;
}

void Service::install(std::unique_ptr<Engine> engine) {
    if (engine_) {
        if (engine_->podWatch) telemetry_.watchRestartsBefore += engine_->podWatch->restarts();
        engine->rec->restoreApplied(engine_->rec->applied());
        engine->rec->setDecisions(engine_->rec->decisions());
    }
    engine_ = std::move(engine);
    engine_->rec->onApplied = [this](const ContainerStatus& s) {
        ++telemetry_.limitsApplied[std::string(core::sourceName(s.entry.source))];
        if (onApplied) onApplied(s);
    };
    engine_->rec->onFailed = [this](const ContainerStatus& s) {
        ++telemetry_.applyErrors[applyErrorCause(s.errorCode, engine_->backend == "systemd")];
        if (onFailed) onFailed(s);
    };
    if (store_) engine_->rec->setOverrides(store_->all());
    watchedPods_.clear();
    if (engine_->podWatch) {
        engine_->podWatch->start();
        log::info("Watching pods on " + engine_->cfg->apiServer.server);
    }
    const core::Config& c = *engine_->cfg;
    if (c.nodeNameFromHostname) log::info("NODE_NAME not set, using the hostname: " + c.nodeName);
    if (c.kubelet.skipVerify) log::warning("KUBELET_SKIP_VERIFY is set: the kubelet's certificate is not verified");
    for (const auto& d : engine_->devices)
        log::info("Data disk " + d.name + " (" + d.dev.str() + ") for " + d.mountPoint +
                      (d.fsDev == d.dev ? "" : " (file system on partition " + d.fsDevName + ")"),
                  {{"DEVICE", d.dev.str()}});
    const auto& s = engine_->rec->setup();
    log::info("Using " + s.note + " at " + s.hierarchy + ", " + std::string(core::driverName(s.layout.driver)) +
              " cgroup driver" +
              (s.layout.kubeletRoot.empty() ? "" : ", kubelet cgroup root /" + s.layout.kubeletRoot.front()) +
              "; limits via " + (engine_->backend == "systemd" ? "systemd (SetUnitProperties)" : "cgroup files"));
}

core::Status Service::start() {
    auto e = build(startupEnv_);
    if (!e) return e.error();
    store_ = std::make_unique<OverrideStore>(e.value()->cfg->stateDirectory);
    if (std::string problem = store_->load(); !problem.empty()) log::error(problem);
    else if (!store_->all().empty())
        log::info("Loaded " + std::to_string(store_->all().size()) + " pod override(s) from " + store_->path());
    decisionStore_ = std::make_unique<DecisionCacheStore>(e.value()->cfg->stateDirectory);
    DecisionCache decisions;
    if (std::string problem = decisionStore_->load(decisions); !problem.empty()) log::error(problem);
    e.value()->rec->setDecisions(std::move(decisions));
    install(std::move(e).value());
    return core::okStatus();
}

const ReconcileReport& Service::resync(bool dryRun) { return finishResync(engine_->rec->fetch(), dryRun); }

void Service::requestResync() {
    if (engine_->fetcher) engine_->fetcher->request();
    else resync(false);
}

void Service::dispatchFetch() {
    uint64_t n;
    while (::read(fetchFd_, &n, sizeof n) == sizeof n) {
    }
    if (!engine_ || !engine_->fetcher) return;
    if (auto f = engine_->fetcher->take()) finishResync(std::move(*f), false);
}

const ReconcileReport& Service::finishResync(FetchResult fetched, bool dryRun) {
    engine_->rec->setOverrides(store_->all());
    double fetchSeconds = fetched.seconds;
    auto t0 = std::chrono::steady_clock::now();
    last_ = engine_->rec->reconcileWith(std::move(fetched), dryRun);
    account(last_, fetchSeconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (last_.podsFresh) {
        podSource_ = last_.source;
        if (!dryRun)
            if (auto st = decisionStore_->save(engine_->rec->decisions()); !st)
                log::error("Failed to save last-known decisions: " + st.error().message);
        lastSyncUsec_ = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count());
    } else if (last_.source == "fallback") {
        // No source answered since start: limits came from the persisted last decisions.
        podSource_ = engine_->rec->decisions().empty() ? "none" : "cache";
    }
    if (watchEnabled_ && !dryRun && engine_->systemd && !engine_->unitsWatched) {
        // systemd's UnitNew: a second path to new container scopes, for whatever inotify misses
        // (a watch limit, a queue overflow). Usually inotify was first and this is a map lookup.
        engine_->unitsWatched = true;
        // The handler asks systemd nothing: any call about a unit that is gone loads a placeholder
        // for it, which is announced with UnitNew again.
        auto st = engine_->systemd->watchUnits([this](const std::string& unit) {
            if (!engine_ || !unit.ends_with(".scope")) return;
            auto id = core::containerIdFromLeaf(unit);
            if (!id) return;
            std::string rel;
            for (const auto& c : last_.containers)  // the pod data knows where it lives
                if (c.entry.containerId.id == id->id) rel = c.cgroup.empty() ? c.entry.cgroup : c.cgroup;
            if (rel.empty())  // else look under the pods' cgroups for the scope
                for (const auto& cg : host::listContainerCgroups(engine_->rec->setup()))
                    if (cg.size() > unit.size() && cg.ends_with("/" + unit)) rel = cg;
            const auto& setup = engine_->rec->setup();
            if (rel.empty() || !host::isDirectory(setup.hierarchy + "/" + rel)) return;  // no cgroup (yet)
            log::debug("Container scope " + unit + " announced by systemd");
            containerAppeared(rel);
        });
        if (!st) log::warning(st.error().message + "; new container scopes are found by inotify and the poll only");
    }
    if (!engine_->watcher && watchEnabled_ && !dryRun && engine_->cfg->inotify) {
        engine_->watcher = std::make_unique<host::CgroupWatcher>(engine_->rec->setup(),
                                                                 [this](const std::string& cg) { containerAppeared(cg); });
        auto& w = *engine_->watcher;
        w.onWatchError = [](const std::string& m) { log::warning(m); };
        if (w.fd() < 0)
            log::warning("Failed to set up inotify on the cgroup tree (fs.inotify.max_user_instances?); new containers "
                         "get their limit at the next poll");
        else if (w.unwatched())
            log::warning(std::to_string(w.unwatched()) + " cgroup directories could not be watched for new containers "
                         "(raise fs.inotify.max_user_watches); those get their limit at the next poll");
    }
    if (onStateChanged) onStateChanged();
    return last_;
}

void Service::containerAppeared(const std::string& cg) {
    // Reported twice (an inotify event and the scan of a new pod directory racing, or inotify and
    // then UnitNew): the first already put our limit in force.
    if (engine_->rec->applied().count(cg)) return;
    ContainerStatus st;
    auto t0 = std::chrono::steady_clock::now();
    bool known = engine_->rec->onNewContainer(cg, &st);
    telemetry_.newContainerSeconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    ++telemetry_.newContainers[known ? "known" : "unknown"];
    log::debug("New container cgroup " + cg + ": " + std::string(stateName(st.state)));
    if (!known && onUnknownContainer) onUnknownContainer();
}

void Service::account(const ReconcileReport& r, double seconds) {
    ++telemetry_.reconciles;
    telemetry_.reconcileSeconds.observe(seconds);
    for (const auto& s : r.failedSources) ++telemetry_.sourceFailures[s];
    if (r.podsFresh) telemetry_.sourceLastSuccess[r.source] = unixSeconds();
}

unsigned Service::watchRestarts() const {
    return telemetry_.watchRestartsBefore + (engine_ && engine_->podWatch ? engine_->podWatch->restarts() : 0);
}

bool Service::watching() const { return engine_ && engine_->podWatch; }

std::string Service::podWatchState() const {
    return engine_ && engine_->podWatch ? engine_->podWatch->state() : std::string();
}

void Service::applyFresh(const core::PodList& pods, const std::string& source) {
    last_ = engine_->rec->apply(pods, source, false);
    account(last_, last_.millis / 1000.0);
    podSource_ = source;
    lastSyncUsec_ = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    if (auto st = decisionStore_->save(engine_->rec->decisions()); !st)
        log::error("Failed to save last-known decisions: " + st.error().message);
    if (onStateChanged) onStateChanged();
}

void Service::dispatchPodWatch() {
    uint64_t n;
    while (::read(wakeFd_, &n, sizeof n) == sizeof n) {
    }
    if (!engine_ || !engine_->podWatch) return;
    auto updates = engine_->podWatch->drain();
    if (updates.empty()) return;
    size_t events = 0;
    for (auto& u : updates) {
        if (u.snapshot) {
            watchedPods_.clear();
            for (auto& p : u.pods) watchedPods_[p.uid] = std::move(p);
        }
        for (auto& ev : u.events) {
            ++events;
            if (ev.type == core::WatchEvent::Type::Deleted) watchedPods_.erase(ev.pod.uid);
            else watchedPods_[ev.pod.uid] = std::move(ev.pod);
        }
    }
    core::PodList list;
    list.pods.reserve(watchedPods_.size());
    for (const auto& [uid, p] : watchedPods_) list.pods.push_back(p);
    log::debug("Pod watch: " + std::to_string(events) + " event(s), " + std::to_string(list.pods.size()) + " pods");
    applyFresh(list, "apiserver");
}

int Service::watchFd() const { return engine_ && engine_->watcher ? engine_->watcher->fd() : -1; }

void Service::dispatchWatch() {
    if (engine_ && engine_->watcher) engine_->watcher->dispatch();
}

core::Status Service::reload() {
    core::Environment env = startupEnv_;
    for (const auto& f : envFiles_) {
        auto text = host::readFile(f);
        if (!text) continue;  // "-" semantics: a missing file is fine
        for (auto& [k, v] : core::parseEnvironmentFile(*text)) env[k] = v;
    }
    auto e = build(env);
    if (!e) {
        log::error("Failed to reload, keeping the running configuration: " + e.error().message);
        return e.error();
    }
    install(std::move(e).value());
    log::info("Reloaded configuration");
    return core::okStatus();
}

core::Status Service::setOverride(const std::string& ns, const std::string& pod, const core::Limits& l) {
    auto st = store_->set(ns, pod, l);
    if (!st) return st;
    log::info("Set override for pod " + ns + "/" + pod + ": read " + core::limitValueString(l.readIops) + " / write " +
                  core::limitValueString(l.writeIops) + " IOPS, read " + core::formatBytes(l.readBps) + " / write " +
                  core::formatBytes(l.writeBps) + " B/s",
              {{"POD_NAMESPACE", ns}, {"POD_NAME", pod}});
    return st;
}

core::Result<bool> Service::clearOverride(const std::string& ns, const std::string& pod) {
    auto r = store_->clear(ns, pod);
    if (r && *r) log::info("Cleared override for pod " + ns + "/" + pod, {{"POD_NAMESPACE", ns}, {"POD_NAME", pod}});
    return r;
}

uint32_t Service::managedContainers() const {
    uint32_t n = 0;
    for (const auto& c : last_.containers)
        if ((c.state == ContainerState::Applied || c.state == ContainerState::Unchanged) && !c.entry.limits.unlimited())
            ++n;
    return n;
}

std::string Service::statusLine() const {
    std::string devs;
    for (const auto& b : engine_->devices) devs += (devs.empty() ? "" : ", ") + b.name + " (" + b.dev.str() + ")";
    uint32_t n = managedContainers();
    std::string s = "Limiting " + std::to_string(n) + " container" + (n == 1 ? "" : "s") + " on " + devs + " via " +
                    (engine_->backend == "systemd" ? "systemd" : "cgroup " + std::string(core::versionName(cgroups().version)) + " files") +
                    "; pods from " + podSource_;
    if (last_.failed) s += "; " + std::to_string(last_.failed) + " failed";
    if (engine_->podWatch) s += "; API watch: " + engine_->podWatch->state();
    return s;
}

std::string Service::explain(const std::string& ns, const std::string& pod) const {
    const core::Pod* found = nullptr;
    for (const auto& p : engine_->rec->lastPods())
        if (p.ns == ns && p.name == pod) found = &p;
    std::ostringstream out;
    if (!found) {
        out << "Pod " << ns << "/" << pod << " is not among the " << engine_->rec->lastPods().size()
            << " pods last seen on this node (source: " << podSource_ << ").\n";
        return out.str();
    }
    const core::Config& c = *engine_->cfg;
    auto overrides = store_->all();
    core::PlanInput in{c.defaults, &engine_->rec->filter(), cgroups().layout, &overrides};
    core::Plan plan = core::makePlan({*found}, in);
    out << "Pod " << ns << "/" << pod << " (uid " << found->uid << ", " << core::qosName(found->qos) << ", phase "
        << (found->phase.empty() ? "?" : found->phase) << ")\n";
    auto ov = overrides.find(found->key());
    if (ov != overrides.end())
        out << "  Override: read " << core::limitValueString(ov->second.readIops) << " / write "
            << core::limitValueString(ov->second.writeIops) << " IOPS, read " << core::formatBytes(ov->second.readBps)
            << " / write " << core::formatBytes(ov->second.writeBps) << " B/s (beats annotations)\n";
    if (found->annotations.empty()) out << "  Annotations: none of ours\n";
    else
        for (const auto& [k, v] : found->annotations) out << "  Annotation " << k << "=\"" << v << "\"\n";
    auto pit = plan.podProblems.find(found->key());
    if (pit != plan.podProblems.end())
        for (const auto& pr : pit->second) out << "    ignored " << pr.key << ": " << pr.error << "\n";
    if (plan.entries.empty()) out << "  No running containers.\n";
    for (const auto& e : plan.entries) {
        out << "  Container " << e.container << " (" << core::kindName(e.kind) << ", "
            << (e.containerId.id.empty() ? e.rawContainerId : e.containerId.id.substr(0, 13)) << ")\n";
        if (e.source == core::LimitSource::Excluded) {
            out << "    excluded by " << e.excludedReason << ": no limit from iops-limit\n";
        } else {
            for (int d = 0; d < 4; ++d) {
                auto dir = static_cast<core::Direction>(d);
                uint64_t v = core::limitOf(e.limits, dir);
                out << "    " << core::directionName(dir) << ": "
                    << (d >= 2 ? core::formatBytes(v) : core::limitValueString(v)) << " from "
                    << core::originName(e.decision.origins[d])
                    << (e.decision.keys[d].empty() || e.source == core::LimitSource::Override ? "" : " (" + e.decision.keys[d] + ")")
                    << "\n";
            }
        }
        for (const auto& st : last_.containers) {
            if (st.entry.containerId.id != e.containerId.id || e.containerId.id.empty()) continue;
            out << "    target: " << (st.cgroup.empty() ? e.cgroup : engine_->writer->describe(st.cgroup)) << "\n";
            out << "    state: " << stateName(st.state) << (st.message.empty() ? "" : " (" + st.message + ")") << "\n";
        }
    }
    return out.str();
}

}  // namespace iopslimit::daemon
