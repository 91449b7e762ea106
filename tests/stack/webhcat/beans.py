"""The JSON shapes of WebHCat v1 answers, from a job record: QueueStatusBean (GET/DELETE
jobs/:jobid, the detail of GET jobs) with Hadoop's JobStatus and JobProfile inside, as WebHCat's
JSON provider serialises them (every field, nulls included)."""

# org.apache.hadoop.mapred.JobStatus run states.
RUN_STATE = {"RUNNING": 1, "SUCCEEDED": 2, "FAILED": 3, "PREP": 4, "KILLED": 5}


def job_id_parts(job_id):
    """(jtIdentifier, id) of job_<jt>_<n>, or None when it is not a well-formed job id (what
    org.apache.hadoop.mapred.JobID.forName accepts)."""
    parts = job_id.split("_")
    if len(parts) != 3 or parts[0] != "job" or not parts[1] or not parts[2].isdigit():
        return None
    if not parts[1].replace("-", "").isalnum():
        return None
    return parts[1], int(parts[2])


def _job_id_obj(job_id):
    jt, n = job_id_parts(job_id)
    return {"jtIdentifier": jt, "id": n}


def job_status(job, base_url):
    state = job["state"]
    done = state in ("SUCCEEDED", "FAILED", "KILLED")
    progress = 1.0 if state == "SUCCEEDED" else 0.0
    staging = f"/tmp/hadoop-yarn/staging/{job['user']}/.staging/{job['id']}/job.xml"
    return {
        "jobID": _job_id_obj(job["id"]),
        "jobId": job["id"],
        "jobName": "TempletonControllerJob",
        "jobFile": staging,
        "username": job["user"],
        "queue": "default",
        "runState": RUN_STATE[state],
        "state": state,
        "jobComplete": done,
        "startTime": job["submit_ms"],
        "finishTime": job["finish_ms"] or 0,
        "mapProgress": progress,
        "reduceProgress": progress,
        "setupProgress": 1.0 if state != "PREP" else 0.0,
        "cleanupProgress": progress,
        "jobPriority": "NORMAL",
        "priority": "NORMAL",
        "schedulingInfo": "NA",
        "failureInfo": job["failure_info"] or "NA",
        "jobACLs": {},
        "trackingUrl": f"{base_url}/jobs/{job['id']}",
        "historyFile": "",
        "retired": False,
        "uber": False,
        "numUsedSlots": 1 if state == "RUNNING" else 0,
        "numReservedSlots": 0,
        "usedMem": 0,
        "reservedMem": 0,
        "neededMem": 0,
    }


def job_profile(job, base_url):
    return {
        "jobID": _job_id_obj(job["id"]),
        "jobId": job["id"],
        "user": job["user"],
        "queueName": "default",
        "jobName": "TempletonControllerJob",
        "jobFile": f"/tmp/hadoop-yarn/staging/{job['user']}/.staging/{job['id']}/job.xml",
        "url": f"{base_url}/jobs/{job['id']}",
    }


def queue_status(job, base_url, null_exit=False):
    """null_exit: the job state store lost exitValue and completed (modes.py, nullexit)."""
    done = job["state"] in ("SUCCEEDED", "FAILED", "KILLED")
    return {
        "status": job_status(job, base_url),
        "profile": job_profile(job, base_url),
        "id": job["id"],
        "parentId": None,
        "percentComplete": job["percent"],
        "exitValue": None if null_exit and done else job["exit_value"],
        "user": job["user"],
        "callback": job["callback"],
        "completed": None if null_exit and done else job["completed"],
        "userargs": job["userargs"],
        "msg": job["msg"],
    }


def job_item(job, base_url, details, null_exit=False):
    return {"id": job["id"],
            "detail": queue_status(job, base_url, null_exit) if details else None}
