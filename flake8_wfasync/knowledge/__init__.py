"""What the static side and the runtime both know: the catalog of blocking callables
(:mod:`.catalog`), one record per rule code (:mod:`.rules`) and the shape of a finding
(:mod:`.findings`). Plain data and matching: nothing here imports the rest of the project."""
