"""`python -m harassflag.batch_spark ...`, or this file given to spark-submit: the `batch-spark` command."""

from harassflag.batch_spark.command import main  # absolute: spark-submit runs this file as a script

if __name__ == "__main__":
    main()
