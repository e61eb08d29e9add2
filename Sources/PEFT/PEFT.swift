/// Parameter-efficient fine-tuning: LoRA and the other adapter methods, in Hugging Face PEFT's file format.
public enum PEFT {}
