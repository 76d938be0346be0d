# language: pt
Funcionalidade: Atendimento humano e a recepcionista virtual
  Toda conversa começa atendida pela IA. A equipe pode desligar a IA, passar a conversa
  para uma pessoa explicando o motivo, ou pausar a IA por um tempo. Quem responde a
  paciente, pelo Porfin ou pelo celular da clínica, assume a conversa e a IA para.

  Contexto:
    Dado que a clínica tem o canal simulador
    E que a secretária Ana trabalha na clínica
    E que a paciente Maria (+55 11 98765-4321) escreveu "Olá, quero marcar uma limpeza"

  Cenário: A IA atende a conversa nova
    Então a conversa de Maria é atendida pela IA
    E a IA pode responder a Maria

  Cenário: A secretária desliga a IA de uma conversa
    Quando a secretária Ana desliga a IA da conversa de Maria
    Então a conversa de Maria é atendida por uma pessoa
    E a IA não pode responder a Maria

  Cenário: A secretária devolve a conversa para a IA
    Dado que a secretária Ana desligou a IA da conversa de Maria
    Quando a secretária Ana religa a IA da conversa de Maria
    Então a conversa de Maria é atendida pela IA
    E a IA pode responder a Maria

  Cenário: A conversa passa para uma pessoa com um motivo
    Quando a secretária Ana passa a conversa de Maria para uma pessoa porque "Pediu orçamento de implante"
    Então a conversa de Maria é atendida por uma pessoa
    E o motivo registrado na conversa de Maria é "Pediu orçamento de implante"
    E a IA não pode responder a Maria

  Cenário: Passar a conversa para uma pessoa exige um motivo
    Quando a secretária Ana passa a conversa de Maria para uma pessoa porque "  "
    Então a mudança é recusada com o erro "validation_error"
    E a conversa de Maria é atendida pela IA

  Cenário: A IA fica pausada por 2 horas e depois volta sozinha
    Dado que são 14:00 de 25/11/2026
    Quando a secretária Ana pausa a IA da conversa de Maria por 2 horas
    Então a conversa de Maria está pausada até 16:00
    E a IA não pode responder a Maria
    Quando passam 119 minutos
    Então a IA não pode responder a Maria
    Quando passa 1 minuto
    Então a IA pode responder a Maria
    E a conversa de Maria é atendida pela IA

  Cenário: Uma mensagem digitada no celular da clínica faz a IA parar
    Quando alguém responde a Maria pelo celular da clínica "Oi Maria, aqui é a Ana!"
    Então a conversa de Maria é atendida por uma pessoa
    E a IA não pode responder a Maria
    E a conversa de Maria tem 2 mensagens
    E a última mensagem da conversa de Maria é "Oi Maria, aqui é a Ana!"

  Cenário: Uma resposta pelo celular da clínica também encerra a pausa
    Dado que a secretária Ana pausou a IA da conversa de Maria por 2 horas
    Quando alguém responde a Maria pelo celular da clínica "Pode vir às 15h"
    Então a conversa de Maria é atendida por uma pessoa

  Cenário: Quem responde pelo Porfin assume a conversa
    Quando a secretária Ana responde a Maria "Oi Maria, tenho horário às 15h"
    Então a conversa de Maria é atendida por uma pessoa
    E a conversa de Maria está com a secretária Ana
    E a IA não pode responder a Maria

  Cenário: A resposta não tira a conversa de quem já cuida dela
    Dado que a secretária Beatriz trabalha na clínica
    E que a conversa de Maria foi atribuída à secretária Beatriz
    Quando a secretária Ana responde a Maria "Oi Maria, a Beatriz já volta"
    Então a conversa de Maria está com a secretária Beatriz
    E a conversa de Maria é atendida por uma pessoa

  Cenário: Quem escreve para uma pessoa espera na fila até ser respondida
    Quando a secretária Ana desliga a IA da conversa de Maria
    Então a conversa de Maria espera por uma pessoa desde 10:00
    E a fila de espera é Maria
    Quando passam 5 minutos
    E a secretária Ana responde a Maria "Oi Maria, tenho horário às 15h"
    Então a conversa de Maria não espera por ninguém
    E a fila de espera está vazia

  Cenário: Na fila, quem espera há mais tempo vem primeiro
    Dado que passaram 5 minutos
    E que o paciente João (+55 21 99876-5432) escreveu "Bom dia, vocês abrem sábado?"
    E que a secretária Ana desligou a IA da conversa de João
    E que a secretária Ana desligou a IA da conversa de Maria
    Então a fila de espera é Maria, João
    E a conversa de João espera por uma pessoa desde 10:05

  Cenário: Religar a IA ou encerrar a conversa tira a conversa da fila
    Dado que a secretária Ana desligou a IA da conversa de Maria
    Quando a secretária Ana religa a IA da conversa de Maria
    Então a conversa de Maria não espera por ninguém
    Quando a secretária Ana passa a conversa de Maria para uma pessoa porque "Pediu orçamento"
    Então a conversa de Maria espera por uma pessoa desde 10:00
    Quando a recepção encerra a conversa de Maria
    Então a fila de espera está vazia
