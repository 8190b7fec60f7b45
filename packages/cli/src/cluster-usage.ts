/**
 * The cluster commands' names and help, apart from the commands themselves: main reads them to
 * dispatch and for --help before it loads any command.
 */
export const CLUSTER_COMMANDS = ["service", "submit", "status", "cancel", "dashboard"] as const;

export const CLUSTER_USAGE = `cluster commands:
  shoal service tracker-poller|peer-worker|piece-verifier|storage-writer [options]
      Runs one service in the foreground until SIGTERM (drains, exit 0) or SIGINT.
  shoal submit <file.torrent | http(s) URL> --to s3://BUCKET/PREFIX [--wait] [--json]
      Queues a download into the bucket and prints the job id; --wait follows it like get
      (exit 0 once every file is in the bucket and verified, 1 on failure, 2 on bad input).
  shoal status [JOB] [--json]
      Jobs with their state, progress, rate and ETA; one job with its pieces by state and
      workers.
  shoal cancel JOB
      Stops the job everywhere and aborts its unfinished uploads; finished objects stay.
  shoal dashboard [--port N] [--host ADDR]
      Serves a live web page of the cluster (its URL is printed): jobs with state, progress,
      rate and ETA, each running job's piece map coloured by state and by the worker holding
      each claim, the workers' rates and peers, a form that submits as "shoal submit" does and
      a cancel button per running job. Runs until SIGTERM or Ctrl-C.

options of the cluster commands (each flag falls back to its environment variable):
      --redis URL             redis://host:port (SHOAL_REDIS_URL)
      --nats URL              nats://host:port, the server with JetStream (SHOAL_NATS_URL)
      --s3 URL                S3 endpoint, path-style (SHOAL_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3,
                              else AWS_ENDPOINT_URL); credentials from AWS_ACCESS_KEY_ID,
                              AWS_SECRET_ACCESS_KEY and AWS_REGION (default us-east-1)
      --metrics-port N        service: /metrics and /healthz on this port (SHOAL_METRICS_PORT;
                              default 9464, 0 = a free port)
  -p, --port N                peer-worker: port for incoming peers (SHOAL_PEER_WORKER_PORT;
                              a busy port falls back to a free one); dashboard: port of the
                              page (SHOAL_DASHBOARD_PORT; default 8080, 0 = a free port)
      --host ADDR             dashboard: address to listen on (SHOAL_DASHBOARD_HOST; default
                              127.0.0.1: the page can submit and cancel jobs and has no login)
      --encryption POLICY     peer-worker, tracker-poller: prefer, require or disable protocol
                              encryption (MSE/PE) with peers, for pieces and for a magnet
                              link's metadata (SHOAL_ENCRYPTION; default prefer)
      --select LIST           submit: download only these files (as for get)
      --seed-ratio X, --seed-time SECONDS   submit: seed after completion (as for get)
      --max-download-rate R, --max-upload-rate R   submit: rate limits of the whole job, shared
                              equally by the peer-workers on it (500K, 4M, 1G; 0 = unlimited)
      --web-seed URL          submit: also fetch from this HTTP mirror (repeatable; as for get)
      --no-web-seeds          submit: do not use the torrent's own web seeds (url-list)
      --no-dht                submit: this job finds peers without the DHT; tracker-poller:
                              no DHT node at all (SHOAL_DHT=off)
      --dht-bootstrap LIST    tracker-poller: join the DHT through host:port[,host:port...]
                              instead of the public routers (SHOAL_DHT_BOOTSTRAP)
      --dht-port N            tracker-poller: UDP port of the DHT node (SHOAL_DHT_PORT;
                              default 6881, a busy port falls back to a free one; 0 = any)
      --job-id ID             submit: name the job (a second submit with the same id is the same job)
      --log-level L           service, dashboard: log level (debug, info, warn; default info)
`;
