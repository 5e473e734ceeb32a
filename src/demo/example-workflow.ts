/**
 * The workflow every demo user gets: small enough to finish in well under a minute, rich enough
 * to show cycling, dependencies across cycle points, a retry and an external trigger.
 */
export const EXAMPLE_WORKFLOW_NAME = 'example';

export const EXAMPLE_FLOW_YAML = `# A small cycling workflow: three cycle points of fetch → train → report,
# where each train also waits for the previous point's train, and a publish
# step that waits for someone to send the "approved" external trigger.
description: Fetch, train and report over three cycle points, then publish when approved
cycles: 3
tasks:
  fetch:
    script: |
      echo "fetching data for cycle $FLOTILLA_CYCLE"
      sleep 2
      echo "fetched $((FLOTILLA_CYCLE * 100)) records"
  train:
    script: |
      for epoch in $(seq 1 "$EPOCHS"); do
        echo "cycle $FLOTILLA_CYCLE epoch $epoch/$EPOCHS"
        sleep 1
      done
    depends: [fetch, "train[-1]"]
    env: { EPOCHS: "3" }
    retries: 1
  report:
    script: |
      echo "report for cycle $FLOTILLA_CYCLE: loss=0.$((RANDOM % 90 + 10))"
    depends: [train]
  publish:
    script: echo "publishing cycle $FLOTILLA_CYCLE"
    depends: [report]
    xtrigger: approved
`;
