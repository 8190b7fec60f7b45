import { beforeAll, describe, expect, it } from "vitest";
import { composeConfig, kustomize, MEASURED_PEAK_RSS_MIB, readRepoFile, SHOAL_SERVICES, type K8sObject } from "./deploy-kit.js";

/* Loose shapes of the parts of rendered objects these tests read. */
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; configMap?: { name: string }; emptyDir?: object }[];
}
interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}

/** Each object built with its kubernetes-models class and validated against the API schema. */
async function validateAll(objects: K8sObject[]): Promise<void> {
  for (const o of objects) {
    const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : [undefined, o.apiVersion];
    const mod = (await import(group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`)) as Record<
      string,
      new (data: unknown) => { validate(): void }
    >;
    const Model = mod[o.kind];
    if (!Model) throw new Error(`kubernetes-models has no ${o.apiVersion} ${o.kind} (${o.metadata.name})`);
    expect(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
  }
}

function find<T extends K8sObject>(objects: K8sObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return found as T;
}

/** A generated ConfigMap or Secret under its base name (kustomize appends a content hash). */
function generated(objects: K8sObject[], kind: string, base: string): K8sObject & { data: Record<string, string> } {
  const found = objects.find((o) => o.kind === kind && new RegExp(`^${base}(-[a-z0-9]{10})?$`).test(o.metadata.name));
  if (!found) throw new Error(`no ${kind} ${base}`);
  return found as K8sObject & { data: Record<string, string> };
}

/** The value a container sees for an environment variable: its own env, else its envFrom ConfigMaps. */
function envValue(objects: K8sObject[], c: Container, name: string): string | undefined {
  const own = c.env?.find((e) => e.name === name);
  if (own) return own.value;
  for (const from of c.envFrom ?? []) {
    if (!from.configMapRef) continue;
    const cm = find<K8sObject & { data: Record<string, string> }>(objects, "ConfigMap", from.configMapRef.name);
    if (cm.data[name] !== undefined) return cm.data[name];
  }
  return undefined;
}

/** The container port number a probe or Service names (by number or by port name). */
function portNumber(c: Container, port: number | string): number {
  if (typeof port === "number") return port;
  const named = c.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`container ${c.name} has no port named ${port}`);
  return named.containerPort;
}

function mib(quantity: string): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!m) throw new Error(`memory ${quantity} is not in Mi or Gi`);
  return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1);
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe("infra/k8s (the base)", () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await kustomize("infra/k8s");
  });

  it("renders objects that validate against the Kubernetes schemas", async () => {
    expect(objects.length).toBeGreaterThan(10);
    await validateAll(objects);
  });

  it("runs each service from the shoal image as non-root, with its endpoints and S3 credentials", () => {
    const endpoints = generated(objects, "ConfigMap", "shoal-endpoints");
    const secret = generated(objects, "Secret", "shoal-s3-credentials");
    expect(Object.keys(secret.data).sort()).toEqual(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    for (const key of ["SHOAL_REDIS_URL", "SHOAL_NATS_URL", "SHOAL_S3_ENDPOINT", "SHOAL_METRICS_PORT"]) expect(endpoints.data[key], key).toBeTruthy();
    for (const name of SHOAL_SERVICES) {
      const d = find<Workload>(objects, "Deployment", name);
      const pod = d.spec.template.spec;
      expect(selects(d.spec.selector.matchLabels, d.spec.template.metadata.labels), name).toBe(true);
      expect(pod.containers, name).toHaveLength(1);
      const c = pod.containers[0]!;
      expect(c.image, name).toMatch(/^shoal:/);
      expect(c.args, name).toEqual(["service", name]);
      expect(c.envFrom?.map((f) => f.configMapRef?.name ?? f.secretRef?.name).sort(), name).toEqual([endpoints.metadata.name, secret.metadata.name].sort());
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext?.runAsUser, name).toBeGreaterThan(0);
      expect(c.securityContext?.allowPrivilegeEscalation, name).toBe(false);
    }
  });

  it("sets only variables that a service started with the compose settings accepts", async () => {
    // test/deploy/image.test.ts starts a peer-worker with the compose file's environment; a key
    // the services refused (a misspelt SHOAL_<SERVICE>_<KEY>) would fail there. Each service's
    // own variables are those its compose service sets.
    const compose = await composeConfig();
    const shared = [generated(objects, "ConfigMap", "shoal-endpoints"), generated(objects, "Secret", "shoal-s3-credentials")].flatMap((o) => Object.keys(o.data));
    for (const name of SHOAL_SERVICES) {
      const composeKeys = Object.keys(compose.services[name]?.environment ?? {});
      const own = (find<Workload>(objects, "Deployment", name).spec.template.spec.containers[0]!.env ?? []).map((e) => e.name);
      for (const key of [...shared, ...own]) expect(composeKeys, `${name} ${key}`).toContain(key);
    }
  });

  it("probes /healthz on the port SHOAL_METRICS_PORT sets, and Prometheus scrapes the same port", () => {
    for (const name of SHOAL_SERVICES) {
      const d = find<Workload>(objects, "Deployment", name);
      const c = d.spec.template.spec.containers[0]!;
      const metricsPort = Number(envValue(objects, c, "SHOAL_METRICS_PORT"));
      expect(metricsPort, name).toBeGreaterThan(0);
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        expect(probe?.httpGet?.path, name).toBe("/healthz");
        expect(portNumber(c, probe!.httpGet!.port), name).toBe(metricsPort);
      }
      const annotations = d.spec.template.metadata.annotations ?? {};
      expect(annotations["prometheus.io/scrape"], name).toBe("true");
      expect(Number(annotations["prometheus.io/port"]), name).toBe(metricsPort);
      expect(annotations["prometheus.io/path"], name).toBe("/metrics");
      // A Service per service for the metrics, selecting exactly its pods.
      const svc = find<K8sObject & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } }>(
        objects,
        "Service",
        name,
      );
      expect(selects(svc.spec.selector, d.spec.template.metadata.labels), name).toBe(true);
      for (const other of SHOAL_SERVICES.filter((o) => o !== name)) {
        expect(selects(svc.spec.selector, find<Workload>(objects, "Deployment", other).spec.template.metadata.labels), `${name} vs ${other}`).toBe(false);
      }
      expect(portNumber(c, svc.spec.ports[0]!.targetPort), name).toBe(metricsPort);
    }
    const worker = find<Workload>(objects, "Deployment", "peer-worker").spec.template.spec.containers[0]!;
    expect(portNumber(worker, "peers")).toBe(Number(envValue(objects, worker, "SHOAL_PEER_WORKER_PORT")));
  });

  it("requests at least the measured peak memory of each service, with a higher limit", () => {
    for (const name of SHOAL_SERVICES) {
      const resources = find<Workload>(objects, "Deployment", name).spec.template.spec.containers[0]!.resources;
      const request = mib(resources?.requests?.["memory"] ?? "0Mi");
      const limit = mib(resources?.limits?.["memory"] ?? "0Mi");
      expect(request, name).toBeGreaterThanOrEqual(Math.ceil(MEASURED_PEAK_RSS_MIB[name] * 1.25));
      expect(limit, name).toBeGreaterThanOrEqual(request * 1.5);
      expect(resources?.requests?.["cpu"], name).toBeTruthy();
    }
  });

  it("scales peer-workers with an autoscaler that owns the replica count, and keeps them available through disruptions", () => {
    const worker = find<Workload>(objects, "Deployment", "peer-worker");
    expect(worker.spec.replicas).toBeUndefined();
    const hpa = find<K8sObject & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } }>(
      objects,
      "HorizontalPodAutoscaler",
      "peer-worker",
    );
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "peer-worker" });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    const pdb = find<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(objects, "PodDisruptionBudget", "peer-worker");
    expect(selects(pdb.spec.selector.matchLabels, worker.spec.template.metadata.labels)).toBe(true);
    // The storage-writer runs with a standby.
    expect(find<Workload>(objects, "Deployment", "storage-writer").spec.replicas).toBe(2);
  });

  it("gives the tracker-poller's DHT node its UDP port and a writable place for its state under the read-only root", () => {
    const pod = find<Workload>(objects, "Deployment", "tracker-poller").spec.template.spec;
    const c = pod.containers[0]!;
    const udp = (c.ports ?? []).filter((p) => p.protocol === "UDP");
    expect(udp).toHaveLength(1);
    expect(String(udp[0]!.containerPort)).toBe(envValue(objects, c, "SHOAL_DHT_PORT"));
    const stateFile = envValue(objects, c, "SHOAL_DHT_STATE_FILE");
    expect(stateFile).toBeTruthy();
    const mount = (c.volumeMounts ?? []).find((m) => stateFile!.startsWith(`${m.mountPath}/`));
    expect(mount, `a volume mounted above ${stateFile}`).toBeDefined();
    expect(pod.volumes?.find((v) => v.name === mount!.name)?.emptyDir).toBeDefined();
    // No other service opens a UDP port.
    for (const name of SHOAL_SERVICES.filter((n) => n !== "tracker-poller")) {
      const other = find<Workload>(objects, "Deployment", name).spec.template.spec.containers[0]!;
      expect((other.ports ?? []).filter((p) => p.protocol === "UDP"), name).toEqual([]);
    }
  });
});

describe("infra/k8s/overlays/self-contained", () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await kustomize("infra/k8s/overlays/self-contained");
  });

  it("renders objects that validate against the Kubernetes schemas, all in namespace shoal", async () => {
    await validateAll(objects);
    find(objects, "Namespace", "shoal");
    for (const o of objects.filter((o) => o.kind !== "Namespace")) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe("shoal");
    for (const name of SHOAL_SERVICES) find(objects, "Deployment", name);
  });

  it("runs NATS with JetStream, Redis with AOF and MinIO as StatefulSets whose data sits on their volume claims", () => {
    const mountOf = (w: Workload) => {
      const c = w.spec.template.spec.containers[0]!;
      const claims = (w.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name);
      expect(claims.length, w.metadata.name).toBe(1);
      return { c, dataDir: c.volumeMounts?.find((m) => m.name === claims[0])?.mountPath };
    };
    const nats = mountOf(find<Workload>(objects, "StatefulSet", "nats"));
    const natsArgs = [...(nats.c.command ?? []), ...(nats.c.args ?? [])];
    expect(natsArgs).toContain("-js");
    expect(natsArgs[natsArgs.indexOf("-sd") + 1]).toBe(nats.dataDir);
    // The server config is the repository's file, carried in a ConfigMap mounted where -c reads it.
    const natsConfig = generated(objects, "ConfigMap", "nats-config");
    expect(natsConfig.data["nats-server.conf"]).toBe(readRepoFile("infra/nats/nats-server.conf"));
    const configVolume = find<Workload>(objects, "StatefulSet", "nats").spec.template.spec.volumes?.find((v) => v.configMap?.name === natsConfig.metadata.name);
    const configDir = nats.c.volumeMounts?.find((m) => m.name === configVolume?.name)?.mountPath;
    expect(natsArgs[natsArgs.indexOf("-c") + 1]).toBe(`${configDir}/nats-server.conf`);

    const redis = mountOf(find<Workload>(objects, "StatefulSet", "redis"));
    const redisArgs = redis.c.args ?? [];
    expect(redisArgs[redisArgs.indexOf("--appendonly") + 1]).toBe("yes");
    expect(redisArgs[redisArgs.indexOf("--dir") + 1]).toBe(redis.dataDir);

    const minio = mountOf(find<Workload>(objects, "StatefulSet", "minio"));
    expect(minio.c.args?.slice(0, 2)).toEqual(["server", minio.dataDir]);
  });

  it("gives the services endpoints that name the overlay's Services and ports", () => {
    const endpoints = generated(objects, "ConfigMap", "shoal-endpoints").data;
    const ports = (name: string) =>
      find<K8sObject & { spec: { ports: { port: number }[] } }>(objects, "Service", name).spec.ports.map((p) => p.port);
    for (const key of ["SHOAL_REDIS_URL", "SHOAL_NATS_URL", "SHOAL_S3_ENDPOINT"]) {
      const url = new URL(endpoints[key]!);
      expect(ports(url.hostname), key).toContain(Number(url.port));
    }
  });

  it("creates the bucket with a Job and gives MinIO the credentials the services use", () => {
    const secret = generated(objects, "Secret", "shoal-s3-credentials");
    const job = find<K8sObject & { spec: { template: { spec: PodSpec } } }>(objects, "Job", "create-bucket");
    const mc = job.spec.template.spec.containers[0]!;
    expect(mc.image).toMatch(/^minio\/mc:/);
    expect(mc.args).toEqual(["mb", "--ignore-existing", "local/shoal"]);
    const minioEnv = find<Workload>(objects, "StatefulSet", "minio").spec.template.spec.containers[0]!.env as unknown as {
      name: string;
      valueFrom?: { secretKeyRef?: { name: string; key: string } };
    }[];
    expect(minioEnv.find((e) => e.name === "MINIO_ROOT_USER")?.valueFrom?.secretKeyRef).toEqual({ name: secret.metadata.name, key: "AWS_ACCESS_KEY_ID" });
    expect(minioEnv.find((e) => e.name === "MINIO_ROOT_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({ name: secret.metadata.name, key: "AWS_SECRET_ACCESS_KEY" });
  });
});
